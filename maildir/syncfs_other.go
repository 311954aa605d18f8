//go:build !linux

package maildir

import (
	"os"
	"syscall"
)

// syncFS writes back every file system: syncfs(2) is Linux's.
func syncFS(*os.File) error {
	syscall.Sync()
	return nil
}

// openDirFile opens directory dir to read.
func openDirFile(dir string) (*os.File, error) { return os.Open(dir) }

// openFile is os.OpenFile.
func openFile(path string, flag int, perm uint32) (*os.File, error) {
	return os.OpenFile(path, flag, os.FileMode(perm))
}
