//go:build !unix

package queue

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockSpoolDir opens dir/lock; without flock it does not keep a second queue
// out.
func lockSpoolDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue spool: %w", err)
	}
	return f, nil
}
