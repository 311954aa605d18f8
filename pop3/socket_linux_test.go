package pop3

import (
	"net"
	"testing"
)

type passThrough struct{ net.Conn }

func (p passThrough) PassThrough() net.Conn { return p.Conn }

type opaque struct{ net.Conn }

// TestSocketIOOnlyForPlainSockets: a session uses the socket directly
// for a *net.TCPConn, also under PassThroughConn wrappers, and never
// under a wrapper that does not say it passes the bytes through (its
// Read or Write may do something).
func TestSocketIOOnlyForPlainSockets(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name string
		conn net.Conn
		want bool
	}{
		{"TCPConn", c, true},
		{"PassThroughConn", passThrough{passThrough{c}}, true},
		{"other wrapper", opaque{c}, false},
		{"PassThroughConn of another wrapper", passThrough{opaque{c}}, false},
	} {
		if got := newSocketIO(tc.conn) != nil; got != tc.want {
			t.Errorf("%s: socket used directly %v, want %v", tc.name, got, tc.want)
		}
	}
}
