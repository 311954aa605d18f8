package restrict

import (
	"net/netip"
	"strings"
)

// validHostname follows Postfix's valid_hostname: labels of letters,
// digits, '-' and '_', not starting or ending with '-', at most 63 bytes,
// 255 in all, and not all-numeric.
func validHostname(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	nonNumeric := false
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			nonNumeric = true
			label++
		case c >= '0' && c <= '9':
			label++
		case c == '-':
			if label == 0 || i+1 == len(name) || name[i+1] == '.' {
				return false
			}
			nonNumeric = true
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		default:
			return false
		}
		if label > 63 {
			return false
		}
	}
	if label == 0 { // trailing dot
		return false
	}
	return nonNumeric
}

// validHostaddr reports whether s is a literal IPv4 (dotted quad) or IPv6
// address, as valid_hostaddr does.
func validHostaddr(s string) bool {
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return validIPv4(s)
}

func validIPv4(s string) bool {
	parts, n, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n > 255 {
				return false
			}
			parts++
			n, digits = 0, 0
			continue
		}
		if !isDigit(s[i]) || digits == 3 {
			return false
		}
		n = n*10 + int(s[i]-'0')
		digits++
	}
	return parts == 4
}

// validMailhostAddr accepts what may stand inside [] in a HELO or address
// literal: an IPv4 address or "IPv6:" and an IPv6 address.
func validMailhostAddr(s string) bool {
	if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
		a, err := netip.ParseAddr(s[5:])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return validIPv4(s)
}
