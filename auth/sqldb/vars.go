package sqldb

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/auth"
)

// varsFor returns the %-variables of a lookup of user on the connection
// carried by ctx (auth.WithConnInfo): %u %n %d %s %r %l %a %b %c.
func varsFor(ctx context.Context, user string) auth.Vars {
	v := auth.Vars{"user": user}
	c := auth.ConnInfoFrom(ctx)
	if c == nil {
		return v
	}
	v["service"] = c.Service
	rip, rport := addrOf(c.RemoteAddr)
	lip, lport := addrOf(c.LocalAddr)
	if rip.IsValid() {
		v["rip"] = rip.String()
		v["rport"] = rport
	}
	if lip.IsValid() {
		v["lip"] = lip.String()
		v["lport"] = lport
	}
	if c.TLS != nil || rip.IsLoopback() {
		v["secured"] = "secured"
	}
	return v
}

func addrOf(a net.Addr) (netip.Addr, string) {
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap(), strconv.Itoa(t.Port)
	}
	if a == nil {
		return netip.Addr{}, ""
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap(), strconv.Itoa(int(ap.Port()))
	}
	return netip.Addr{}, ""
}

// allowedNet reports whether the client of ctx is in a comma-separated
// list of addresses and networks (the allow_nets field).
func allowedNet(ctx context.Context, list string) bool {
	c := auth.ConnInfoFrom(ctx)
	if c == nil {
		return false
	}
	ip, _ := addrOf(c.RemoteAddr)
	if !ip.IsValid() {
		return false
	}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if a, err := netip.ParseAddr(n); err == nil && a.Unmap() == ip {
			return true
		}
		if p, err := netip.ParsePrefix(n); err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}
