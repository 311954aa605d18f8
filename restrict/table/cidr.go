package table

import (
	"context"
	"net/netip"
	"strings"
)

// CIDR is a cidr_table(5): patterns "address/prefix result" or
// "address result", with "if pattern" ... "endif" and "!" negation,
// matched in order; the first match wins. Only IP address keys match.
type CIDR struct {
	rules []cidrRule
}

type cidrRule struct {
	prefix  netip.Prefix
	negate  bool
	value   string
	ifLevel int  // >0: this is an "if" opening a block
	endif   bool // this rule is an "endif"
	skip    int  // for "if": index of the matching endif
}

// Pattern reports true: no partial-key lookups.
func (c *CIDR) Pattern() bool { return true }

// ParseCIDR reads cidr_table(5) text.
func ParseCIDR(data []byte, name string) (*CIDR, error) { return parseCIDRData(data, name) }

func parseCIDRData(data []byte, file string) (*CIDR, error) {
	c := &CIDR{}
	var errs errorList
	var stack []int
	err := eachLogicalLine(string(data), file, func(line string, lineno int) {
		pat, val := splitKeyValue(line)
		lower := strings.ToLower(pat)
		if lower == "endif" {
			if len(stack) == 0 {
				errs.add(&Error{File: file, Line: lineno, Msg: "ignoring ENDIF without matching IF"})
				return
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c.rules[open].skip = len(c.rules)
			c.rules = append(c.rules, cidrRule{endif: true})
			return
		}
		isIf := false
		if lower == "if" {
			isIf = true
			pat, val = splitKeyValue(val)
		}
		r := cidrRule{}
		if strings.HasPrefix(pat, "!") {
			r.negate = true
			pat = pat[1:]
		}
		p, msg := parseCIDRPattern(pat)
		if msg != "" {
			errs.add(&Error{File: file, Line: lineno, Msg: msg})
			return
		}
		r.prefix = p
		if isIf {
			if val != "" {
				errs.add(&Error{File: file, Line: lineno, Msg: "garbage after IF pattern"})
				return
			}
			r.ifLevel = 1
			stack = append(stack, len(c.rules))
		} else {
			if val == "" {
				errs.add(&Error{File: file, Line: lineno, Msg: "no lookup result"})
				return
			}
			r.value = val
		}
		c.rules = append(c.rules, r)
	})
	if err != nil {
		return nil, err
	}
	for _, open := range stack {
		c.rules[open].skip = len(c.rules)
	}
	if e := errs.err(); e != nil {
		return nil, e
	}
	return c, nil
}

// parseCIDRPattern accepts "a.b.c.d", "a.b.c.d/n", "[v6]", "[v6]/n", "v6/n".
func parseCIDRPattern(pat string) (netip.Prefix, string) {
	addr, bits, hasBits := strings.Cut(pat, "/")
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, "bad net/mask pattern: \"" + pat + "\""
	}

	n := a.BitLen()
	if hasBits {
		n = 0
		if bits == "" || len(bits) > 3 {
			return netip.Prefix{}, "bad net/mask pattern: \"" + pat + "\""
		}
		for _, ch := range bits {
			if ch < '0' || ch > '9' {
				return netip.Prefix{}, "bad net/mask pattern: \"" + pat + "\""
			}
			n = n*10 + int(ch-'0')
		}
		if n > a.BitLen() {
			return netip.Prefix{}, "bad net/mask pattern: \"" + pat + "\""
		}
	}
	p := netip.PrefixFrom(a, n)
	if p.Masked().Addr() != a {
		return netip.Prefix{}, "non-null host address bits in \"" + pat + "\", perhaps you should use \"" + p.Masked().String() + "\" instead"
	}
	return p, ""
}

// Lookup matches key (an IP address, IPv6 without brackets) against the
// rules in order.
func (c *CIDR) Lookup(_ context.Context, key string) (string, bool, error) {
	a, err := netip.ParseAddr(key)
	if err != nil || a.Zone() != "" {
		return "", false, nil
	}

	for i := 0; i < len(c.rules); i++ {
		r := &c.rules[i]
		if r.endif {
			continue
		}
		if r.prefix.Addr().BitLen() != a.BitLen() {
			if r.ifLevel > 0 {
				i = r.skip
			}
			continue
		}
		m := r.prefix.Contains(a)
		if r.negate {
			m = !m
		}
		if r.ifLevel > 0 {
			if !m {
				i = r.skip
			}
			continue
		}
		if m {
			return r.value, true, nil
		}
	}
	return "", false, nil
}
