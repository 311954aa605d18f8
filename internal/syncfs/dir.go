package syncfs

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Dir fsyncs directory dir, so that a file created, linked or renamed
// in it is durable.
func Dir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	err = unix.Fsync(fd)
	unix.Close(fd)
	if err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	return nil
}

// Dev returns the device number of the file system that holds dir.
func Dev(dir string) (uint64, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("syncfs: no device number for %s", dir)
	}
	return uint64(st.Dev), nil
}
