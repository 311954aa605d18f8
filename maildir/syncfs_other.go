//go:build !linux

package maildir

import (
	"os"
	"syscall"
)

// openFile is os.OpenFile.
func openFile(path string, flag int, perm uint32) (*os.File, error) {
	return os.OpenFile(path, flag, os.FileMode(perm))
}
