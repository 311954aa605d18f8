package testutil

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TCPRelay forwards connections from a 127.0.0.1 port to a server and
// can cut every connection it carries at once: a server's idle timeout,
// a restart or a firewall dropping connections, seen from the client,
// while the real server keeps running.
type TCPRelay struct {
	l     net.Listener
	mu    sync.Mutex
	to    string
	down  bool
	conns []net.Conn
}

// StartTCPRelay relays to addr (host:port) until the test ends. With
// addr "" connections are closed at once until SetTarget names one.
func StartTCPRelay(t testing.TB, addr string) *TCPRelay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &TCPRelay{l: l, to: addr}
	t.Cleanup(func() { l.Close(); r.Cut() })
	go r.serve()
	return r
}

// Addr is the relay's address (127.0.0.1:port).
func (r *TCPRelay) Addr() string { return r.l.Addr().String() }

func (r *TCPRelay) serve() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		to, down := r.to, r.down
		r.mu.Unlock()
		if down || to == "" {
			c.Close()
			continue
		}
		u, err := net.DialTimeout("tcp", to, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, c, u)
		r.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

// Cut closes every connection relayed so far; new ones are relayed.
func (r *TCPRelay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// SetTarget relays new connections to addr (a partner that started, or
// restarted on another port).
func (r *TCPRelay) SetTarget(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.to = addr
}

// SetDown cuts every connection and, while down, closes new ones at
// once: the network between client and server is gone.
func (r *TCPRelay) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
	r.Cut()
}

// Port is the relay's TCP port.
func (r *TCPRelay) Port() int { return r.l.Addr().(*net.TCPAddr).Port }
