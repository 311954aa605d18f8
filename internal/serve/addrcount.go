package serve

import (
	"net"
	"net/netip"
	"sync"
)

// AddrCounter counts live connections per client address, for caps such
// as Dovecot's and Postfix's per-address connection limits. IPv4
// addresses count one by one, IPv6 addresses by /64 (one client has a
// whole /64, as auth's penalties assume); a connection without an IP
// address (a pipe, a Unix socket) is never refused. The zero value is
// ready to use.
type AddrCounter struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

// AddrKey returns the key under which addr is counted, and false when
// addr has no IP address.
func AddrKey(addr net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if addr == nil {
			return netip.Addr{}, false
		}
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	if !ip.IsValid() {
		return netip.Addr{}, false
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		ip = p.Addr()
	}
	return ip, true
}

// Acquire counts one more connection from addr, unless limit (when
// positive) are already counted, in which case it counts nothing and
// returns false. Every successful Acquire needs one Release.
func (a *AddrCounter) Acquire(addr net.Addr, limit int) bool {
	k, ok := AddrKey(addr)
	if !ok {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if limit > 0 && a.n[k] >= limit {
		return false
	}
	if a.n == nil {
		a.n = make(map[netip.Addr]int)
	}
	a.n[k]++
	return true
}

// Release forgets one connection from addr counted by Acquire.
func (a *AddrCounter) Release(addr net.Addr) {
	k, ok := AddrKey(addr)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[k] <= 1 {
		delete(a.n, k)
	} else {
		a.n[k]--
	}
}

// Count returns how many connections from addr are counted.
func (a *AddrCounter) Count(addr net.Addr) int {
	k, ok := AddrKey(addr)
	if !ok {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[k]
}
