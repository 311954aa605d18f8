package smtpwire

import (
	"net"
	"sync/atomic"
	"time"
)

// TimeoutConn wraps a server connection so that every Read waits at most
// the current read timeout (set per protocol phase: command, data) and
// every Write at most WriteTimeout. Kick makes the pending or next Read
// fail at once with a timeout, which a server uses to wake idle sessions
// on shutdown without a race against the deadline being re-armed.
type TimeoutConn struct {
	net.Conn
	// WriteTimeout bounds each Write; 0 means no limit.
	WriteTimeout time.Duration
	readTimeout  atomic.Int64
	kicked       atomic.Bool
}

// SetReadTimeout sets the limit of each following Read; 0 means none.
func (c *TimeoutConn) SetReadTimeout(d time.Duration) { c.readTimeout.Store(int64(d)) }

// Kick makes Reads fail from now on.
func (c *TimeoutConn) Kick() {
	c.kicked.Store(true)
	c.Conn.SetReadDeadline(time.Unix(1, 0))
}

// Kicked reports whether Kick was called.
func (c *TimeoutConn) Kicked() bool { return c.kicked.Load() }

// Read implements net.Conn.
func (c *TimeoutConn) Read(p []byte) (int, error) {
	if d := time.Duration(c.readTimeout.Load()); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(d))
	} else {
		c.Conn.SetReadDeadline(time.Time{})
	}
	if c.kicked.Load() {
		c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
	return c.Conn.Read(p)
}

// Write implements net.Conn.
func (c *TimeoutConn) Write(p []byte) (int, error) {
	if c.WriteTimeout > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.WriteTimeout))
	}
	return c.Conn.Write(p)
}
