//go:build !linux

package pop3

import (
	"io"
	"net"
)

// newSocketIO is nil off Linux: the session reads and writes the
// net.Conn.
func newSocketIO(net.Conn) io.ReadWriter { return nil }
