package restrict

import (
	"errors"
	"net/netip"
	"strings"
)

// ipMatch is Postfix's DNSBL reply filter ("127.0.0.[2..11]",
// "127.0.[1;3].[2..99]"): four octet patterns, each a number or a
// bracketed list of numbers and ranges separated by ';'.
type ipMatch struct {
	octets [4][]octetRange
}

type octetRange struct{ lo, hi int }

var errIPMatch = errors.New("bad DNSBL reply filter; want a.b.c.d with [n..m] or [n;m] octets")

func parseIPMatch(s string) (*ipMatch, error) {
	parts := splitOutsideBrackets(s)
	if len(parts) != 4 {
		return nil, errIPMatch
	}
	m := &ipMatch{}
	for i, part := range parts {
		if strings.HasPrefix(part, "[") {
			if !strings.HasSuffix(part, "]") || len(part) < 3 {
				return nil, errIPMatch
			}
			for _, elem := range strings.Split(part[1:len(part)-1], ";") {
				lo, hi, isRange := strings.Cut(elem, "..")
				a, ok1 := octet(lo)
				b := a
				ok2 := true
				if isRange {
					b, ok2 = octet(hi)
				}
				if !ok1 || !ok2 || a > b {
					return nil, errIPMatch
				}
				m.octets[i] = append(m.octets[i], octetRange{a, b})
			}
			continue
		}
		a, ok := octet(part)
		if !ok {
			return nil, errIPMatch
		}
		m.octets[i] = []octetRange{{a, a}}
	}
	return m, nil
}

func octet(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= 255
}

func (m *ipMatch) match(a netip.Addr) bool {
	a = a.Unmap()
	if !a.Is4() {
		return false
	}
	b := a.As4()
	for i := 0; i < 4; i++ {
		ok := false
		for _, r := range m.octets[i] {
			if int(b[i]) >= r.lo && int(b[i]) <= r.hi {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// splitOutsideBrackets splits on '.' outside [...].
func splitOutsideBrackets(s string) []string {
	var parts []string
	level, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			level++
		case ']':
			level--
		case '.':
			if level == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
