package queue

import (
	"fmt"
	"net"
	"os"

	"github.com/yubinmail/yubin/internal/serve"
)

// ListenControl makes the Unix-domain socket at path for ServeControl,
// with mode 0600 so that only the server's user (and root) can connect;
// the directory it is in should be the server's own (mode 0700 or 0750)
// so that no one can reach the socket in the moment between its
// creation and its chmod. A stale socket left by a server that is gone
// is removed; a socket that a running server answers on, or a file that
// is not a socket, is an error. The socket file is removed when the
// listener is closed.
func ListenControl(path string) (net.Listener, error) {
	l, err := serve.ListenUnix(path)
	if err != nil {
		return nil, fmt.Errorf("queue control: %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
