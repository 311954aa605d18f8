//go:build !linux

package maildir

import "syscall"

// syncFS writes back every file system: syncfs(2) is Linux's.
func syncFS(dir string) error {
	syscall.Sync()
	return nil
}
