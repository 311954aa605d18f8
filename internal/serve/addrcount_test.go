package serve

import (
	"net"
	"testing"
)

func TestAddrCounter(t *testing.T) {
	var a AddrCounter
	v4 := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}
	v4b := &net.TCPAddr{IP: net.ParseIP("192.0.2.8"), Port: 2}
	v6 := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 3}
	v6same64 := &net.TCPAddr{IP: net.ParseIP("2001:db8::ffff:1"), Port: 4}
	for range 2 {
		if !a.Acquire(v4, 2) {
			t.Fatal("refused under the limit")
		}
	}
	if a.Acquire(v4, 2) {
		t.Error("third connection from one IPv4 address accepted with limit 2")
	}
	if !a.Acquire(v4b, 2) {
		t.Error("another address refused")
	}
	if !a.Acquire(v6, 1) || a.Acquire(v6same64, 1) {
		t.Error("IPv6 addresses of one /64 are not counted together")
	}
	unix := &net.UnixAddr{Name: "@x", Net: "unix"}
	for range 2 {
		if !a.Acquire(unix, 1) {
			t.Error("a connection without an IP address was refused")
		}
	}
	if !a.Acquire(v4, 0) {
		t.Error("limit 0 refused")
	}
	if n := a.Count(v4); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
	for range 3 {
		a.Release(v4)
	}
	if n := a.Count(v4); n != 0 || len(a.n) != 2 {
		t.Errorf("after Release: Count = %d, table %v", n, a.n)
	}
}

// BenchmarkAddrCounter is the per-connection cost of a per-address cap:
// one Acquire and one Release.
func BenchmarkAddrCounter(b *testing.B) {
	var a AddrCounter
	addr := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}
	for b.Loop() {
		a.Acquire(addr, 50)
		a.Release(addr)
	}
}
