package pop3

import "net"

// PassThroughConn is a net.Conn wrapper that changes nothing in the
// bytes read and written (one that counts connections, say) and says so:
// PassThrough returns the connection it wraps. A session on a plain
// (not TLS) connection that is a *net.TCPConn or *net.UnixConn, directly
// or under such wrappers, reads and writes the socket itself, which
// costs the server less CPU per command than going through the
// net.Conn (on Linux; see socket_linux.go). A wrapper whose Read or
// Write does anything (buffers bytes already read, rewrites, throttles)
// must not implement it.
type PassThroughConn interface {
	net.Conn
	PassThrough() net.Conn
}
