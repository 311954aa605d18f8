package serve

import (
	"errors"
	"net"
	"os"
	"time"
)

// ErrSocketInUse is returned by ListenUnix when another server answers
// on the socket.
var ErrSocketInUse = errors.New("address already in use (another server answers on it)")

var errNotSocket = errors.New("exists and is not a socket")

// ListenUnix listens on a unix socket at path. A socket file left by a
// server that is gone (nobody answers on it) is replaced; one that a live
// server holds is left alone (ErrSocketInUse), and so is a file that is
// not a socket. The errors do not repeat the path. The socket file is
// removed when the listener is closed.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, errNotSocket
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, ErrSocketInUse
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	return l, nil
}
