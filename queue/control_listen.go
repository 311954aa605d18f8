package queue

import (
	"errors"
	"net"
	"os"
	"time"
)

// ListenControl makes the Unix-domain socket at path for ServeControl,
// with mode 0600 so that only the server's user (and root) can connect;
// the directory it is in should be the server's own (mode 0700 or 0750)
// so that no one can reach the socket in the moment between its
// creation and its chmod. A stale socket left by a server that is gone
// is removed; a socket that a running server answers on is an error.
func ListenControl(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, errors.New("queue control: " + path + " exists and is not a socket")
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, errors.New("queue control: a server is listening on " + path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
