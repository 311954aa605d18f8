package queue

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// smtpNexthop is a parsed smtp/relay destination in transport(5) syntax:
// "domain" and "domain:port" are looked up as MX records,
// "[host]" and "[host]:port" are not (A/AAAA only), "[192.0.2.1]" and
// "[ipv6:2001:db8::1]" name an address.
type smtpNexthop struct {
	// host is the domain or host name (lower case, no trailing dot), or
	// the address text of a literal.
	host string
	// port is the port or service name given, "" for the default.
	port string
	// mx is set when MX records are looked up (no brackets).
	mx bool
	// ip is the address of a literal, invalid otherwise.
	ip netip.Addr
	// dest is the nexthop as written, for smtp_sasl_password_maps.
	dest string
}

// maxSMTPNexthopLen bounds the nexthop text (a domain is at most 253
// octets; brackets, "ipv6:" and a port add a few).
const maxSMTPNexthopLen = 300

var errBadSMTPNexthop = errors.New("bad nexthop syntax")

// parseSMTPNexthop parses a nexthop in transport(5) syntax.
func parseSMTPNexthop(s string) (smtpNexthop, error) {
	s = strings.TrimSpace(s)
	nh := smtpNexthop{dest: s}
	if s == "" || len(s) > maxSMTPNexthopLen {
		return nh, errBadSMTPNexthop
	}
	rest := s
	if rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nh, errBadSMTPNexthop
		}
		nh.host, rest = rest[1:end], rest[end+1:]
		if !strings.Contains(nh.host, ":") {
			nh.host = strings.TrimSuffix(nh.host, ".") // "[192.0.2.1.]"
		}
		if len(nh.host) > 5 && strings.EqualFold(nh.host[:5], "ipv6:") {
			nh.host = nh.host[5:]
			ip, err := netip.ParseAddr(nh.host)
			if err != nil || !ip.Is6() || ip.Zone() != "" {
				return nh, errBadSMTPNexthop
			}
			nh.ip = ip
		} else if ip, err := netip.ParseAddr(nh.host); err == nil {
			if ip.Zone() != "" {
				return nh, errBadSMTPNexthop
			}
			nh.ip = ip.Unmap()
		}
	} else {
		nh.mx = true
		nh.host = rest
		rest = ""
		if i := strings.IndexByte(nh.host, ':'); i >= 0 {
			nh.host, rest = nh.host[:i], nh.host[i:]
		}
	}
	if rest != "" {
		if rest[0] != ':' || !validSMTPPort(rest[1:]) {
			return nh, errBadSMTPNexthop
		}
		nh.port = rest[1:]
	}
	if nh.ip.IsValid() {
		nh.host = nh.ip.String()
		return nh, nil
	}
	nh.host = strings.ToLower(strings.TrimSuffix(nh.host, "."))
	if !validMXHostName(nh.host) {
		return nh, errBadSMTPNexthop
	}
	return nh, nil
}

// validSMTPPort accepts a port number 1-65535 or a service name such as
// "submission".
func validSMTPPort(p string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	if n, err := strconv.Atoi(p); err == nil {
		return n > 0 && n < 65536
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validMXHostName accepts a DNS host name: labels of letters, digits,
// hyphens and underscores, at most 63 octets each, 253 in all.
func validMXHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// String returns the nexthop as Postfix writes it.
func (nh smtpNexthop) String() string {
	h := nh.host
	if !nh.mx {
		if nh.ip.Is6() {
			h = "ipv6:" + h
		}
		h = "[" + h + "]"
	}
	if nh.port != "" {
		h += ":" + nh.port
	}
	return h
}
