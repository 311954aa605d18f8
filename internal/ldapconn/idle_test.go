package ldapconn

import (
	"crypto/tls"
	"testing"
)

// closeCounter is a connection that only counts its closing.
type closeCounter struct{ closed *int }

func (c closeCounter) StartTLS(*tls.Config) error { return nil }
func (c closeCounter) ExternalBind() error        { return nil }
func (c closeCounter) Bind(string, string) error  { return nil }
func (c closeCounter) Close() error               { *c.closed++; return nil }

// TestIdle: the last connection put is taken first, an empty list says
// so, and Close closes what is left and empties it.
func TestIdle(t *testing.T) {
	var closed [3]int
	var i Idle[closeCounter]
	if _, ok := i.Take(); ok {
		t.Fatal("took from an empty list")
	}
	for k := range closed {
		i.Put(closeCounter{&closed[k]})
	}
	if c, ok := i.Take(); !ok || c.closed != &closed[2] {
		t.Fatal("not the last one put")
	}
	i.Close()
	if closed != [3]int{1, 1, 0} {
		t.Errorf("closed %v", closed)
	}
	if _, ok := i.Take(); ok {
		t.Error("took after Close")
	}
}
