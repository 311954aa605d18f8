package maildir

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS writes back and flushes the file system that holds dir
// (syncfs(2)).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
