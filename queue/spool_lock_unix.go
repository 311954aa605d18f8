//go:build unix

package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockSpoolDir takes an exclusive lock on dir/lock so that two queue managers
// never share a queue directory (Postfix's master.lock); the kernel drops
// it when the process dies.
func lockSpoolDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("queue spool: %s is in use by another queue", dir)
		}
		return nil, fmt.Errorf("queue spool: lock %s: %w", dir, err)
	}
	return f, nil
}
