package maildir

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncFS writes back and flushes the file system that holds the
// directory f (syncfs(2)).
func syncFS(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("syncfs", serr)
	}
	return nil
}

// openDirFile opens directory dir to read. Unlike os.Open it makes one
// system call: os.Open tries to add every file to the network poller
// (five more calls that fail for a directory or a regular file).
func openDirFile(dir string) (*os.File, error) {
	return openFile(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
}

// openFile opens path as os.OpenFile does, without os.OpenFile's attempt
// to register the descriptor with the network poller: for a regular
// file or a directory that costs four fcntl calls and an epoll_ctl that
// fails, where os.NewFile costs one fcntl.
func openFile(path string, flag int, perm uint32) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, perm)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
