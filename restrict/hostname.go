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
		switch hostByte[name[i]] {
		case hostLetter:
			nonNumeric = true
		case hostDigit:
		case hostHyphen:
			if label == 0 || i+1 == len(name) || name[i+1] == '.' {
				return false
			}
			nonNumeric = true
		case hostDot:
			if label == 0 {
				return false
			}
			label = 0
			continue
		default:
			return false
		}
		if label++; label > 63 {
			return false
		}
	}
	return label > 0 && nonNumeric // label == 0: a trailing dot
}

// Byte classes for validHostname (a table: it runs on every HELO name
// and sender domain several times per evaluation).
const (
	hostBad    = iota // not allowed in a host name
	hostLetter        // letters and '_'
	hostDigit
	hostHyphen
	hostDot
)

var hostByte = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = hostLetter, hostLetter
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = hostDigit
	}
	t['_'], t['-'], t['.'] = hostLetter, hostHyphen, hostDot
	return t
}()

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

// ValidHostname reports whether name is a host name as Postfix's
// valid_hostname judges it (letters, digits, '-' and '_' in labels of at
// most 63 bytes, not all-numeric): what a server checks ETRN and
// HELO arguments against.
func ValidHostname(name string) bool { return validHostname(name) }
