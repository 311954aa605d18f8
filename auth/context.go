package auth

import (
	"net"
	"net/netip"
	"strconv"
)

// addrIP returns the IP address of a net.Addr (TCP, UDP or IP), or the
// zero Addr.
func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.IPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func addrPort(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(t.Port)
	}
	return ""
}

// connVars returns the %-variables describing c and user.
func connVars(c *ConnInfo, user string) Vars {
	v := Vars{"user": user}
	if c == nil {
		return v
	}
	v["service"] = c.Service
	if ip := addrIP(c.RemoteAddr); ip.IsValid() {
		v["rip"] = ip.String()
	}
	if ip := addrIP(c.LocalAddr); ip.IsValid() {
		v["lip"] = ip.String()
	}
	v["rport"], v["lport"] = addrPort(c.RemoteAddr), addrPort(c.LocalAddr)
	if c.TLS != nil || addrIP(c.RemoteAddr).IsLoopback() {
		v["secured"] = "secured"
	}
	return v
}
