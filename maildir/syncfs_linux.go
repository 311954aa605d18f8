package maildir

import (
	"os"
	"syscall"
)

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
