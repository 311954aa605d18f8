package queue

import (
	"errors"
	"os"
	"syscall"
)

// fdatasync flushes f's data and the metadata needed to read it back (its
// size), not its times.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// openNoAtime opens a file to read without updating its access time (a
// deferred file's atime is set with its mtime, and relatime would write
// every inode read at recovery); O_NOATIME needs the file's owner, so it
// falls back to a plain open.
func openNoAtime(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOATIME, 0)
	if err != nil && errors.Is(err, syscall.EPERM) {
		return os.Open(p)
	}
	return f, err
}
