package smtpwire

import (
	"net"
	"syscall"
)

// Pending returns up to max bytes the peer has already sent on c and
// that wait unread in the kernel, without consuming them and without
// waiting: nil when there are none, or when c has no socket to look at
// (only connections with a SyscallConn method, such as *net.TCPConn and
// *net.UnixConn, on systems where a non-blocking peek is available). A
// server uses it to see whether a client talked before the greeting.
func Pending(c net.Conn, max int) []byte {
	sc, ok := c.(syscall.Conn)
	if !ok || max <= 0 {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	buf := make([]byte, max)
	n := 0
	err = rc.Read(func(fd uintptr) bool {
		n = peekFD(fd, buf)
		return true // never wait for input
	})
	if err != nil || n <= 0 {
		return nil
	}
	return buf[:n]
}
