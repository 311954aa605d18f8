package restrict

import (
	"context"
	"net/netip"
	"os"
	"strings"
)

// matchList is Postfix's domain_list / namadr_list: a list of names,
// ".parent" names, networks (namadr lists), type:table lookups and
// "/file" includes, each optionally negated with "!". The first entry
// that matches decides; a negated match means "no".
type matchList struct {
	param       string
	entries     []matchEntry
	parentMatch bool // parent_domain_matches_subdomains lists this parameter
}

type matchEntry struct {
	negate bool
	name   string // lower-cased domain or ".domain"
	prefix netip.Prefix
	isNet  bool
	table  Table
	ref    string
}

// compileMatchList reads list parameter param. hosts enables network
// entries (mynetworks).
func (p *Policy) compileMatchList(param string, hosts bool) (*matchList, error) {
	val := p.params.Get(param)
	ml := &matchList{param: param}
	for _, s := range p.params.List("parent_domain_matches_subdomains") {
		if s == param {
			ml.parentMatch = true
		}
	}
	toks, err := splitRestrictions(val)
	if err != nil {
		return nil, &ConfigError{Param: param, Err: err}
	}
	if err := p.addMatchEntries(ml, param, toks, hosts, 0); err != nil {
		return nil, err
	}
	return ml, nil
}

func (p *Policy) addMatchEntries(ml *matchList, param string, toks []string, hosts bool, depth int) error {
	for i, tok := range toks {
		e := matchEntry{}
		orig := tok
		for strings.HasPrefix(tok, "!") {
			e.negate = !e.negate
			tok = tok[1:]
		}
		fail := func(err error) error {
			return &ConfigError{Param: param, Element: i + 1, Token: orig, Err: err}
		}
		switch {
		case strings.HasPrefix(tok, "/"):
			if depth > 3 {
				return fail(errNested)
			}
			data, err := os.ReadFile(tok)
			if err != nil {
				return fail(err)
			}
			var sub []string
			for _, line := range strings.Split(string(data), "\n") {
				if t := strings.TrimSpace(line); t != "" && t[0] != '#' {
					more, err := splitRestrictions(t)
					if err != nil {
						return fail(err)
					}
					sub = append(sub, more...)
				}
			}
			if err := p.addMatchEntries(ml, param, sub, hosts, depth+1); err != nil {
				return err
			}
			continue
		case hosts && (strings.HasPrefix(tok, "[") || validHostaddr(strings.SplitN(tok, "/", 2)[0])):
			pfx, ok := parseNetwork(tok)
			if !ok {
				return fail(errBadNetwork)
			}
			e.prefix, e.isNet = pfx, true
		case strings.Contains(tok, ":"):
			t, err := p.openTable(tok)
			if err != nil {
				return fail(err)
			}
			e.table, e.ref = t, tok
		default:
			e.name = strings.ToLower(tok)
		}
		ml.entries = append(ml.entries, e)
	}
	return nil
}

// parseNetwork reads "a.b.c.d", "a.b.c.d/n", "[v6]", "[v6]/n" and "v6/n".
func parseNetwork(tok string) (netip.Prefix, bool) {
	addr, bits, hasBits := strings.Cut(tok, "/")
	if strings.HasPrefix(addr, "[") {
		if !strings.HasSuffix(addr, "]") {
			return netip.Prefix{}, false
		}
		addr = addr[1 : len(addr)-1]
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	mapped := a.Is4In6()
	a = a.Unmap()
	if !hasBits {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	n := 0
	if bits == "" || len(bits) > 3 {
		return netip.Prefix{}, false
	}
	for i := 0; i < len(bits); i++ {
		if !isDigit(bits[i]) {
			return netip.Prefix{}, false
		}
		n = n*10 + int(bits[i]-'0')
	}
	if mapped {
		// [::ffff:127.0.0.0]/104, as Debian's postinst writes
		// mynetworks: the IPv4 network 127.0.0.0/8 (client addresses
		// are compared unmapped).
		if n < 96 || n > 128 {
			return netip.Prefix{}, false
		}
		n -= 96
	}
	if n > a.BitLen() {
		return netip.Prefix{}, false
	}
	pfx := netip.PrefixFrom(a, n)
	if pfx.Masked().Addr() != a {
		return netip.Prefix{}, false // Postfix: non-null host address bits
	}
	return pfx, true
}

// match tests a domain name (domain lists).
func (ml *matchList) match(ctx context.Context, s *state, domain string) bool {
	return ml.matchHost(ctx, s, domain, netip.Addr{})
}

// matchHost tests a host name and address (namadr lists; addr may be
// invalid for domain lists).
func (ml *matchList) matchHost(ctx context.Context, s *state, name string, addr netip.Addr) bool {
	if ml == nil {
		return false
	}
	if addr.IsValid() {
		addr = addr.Unmap().WithZone("")
	}
	lowered := false
	for i := range ml.entries {
		e := &ml.entries[i]
		if !e.isNet && !lowered { // network entries ignore the name
			name, lowered = toLower(name), true
		}
		if e.matches(ctx, s, ml, name, addr) {
			return !e.negate
		}
	}
	return false
}

func (e *matchEntry) matches(ctx context.Context, s *state, ml *matchList, name string, addr netip.Addr) bool {
	switch {
	case e.isNet:
		return e.prefix.Contains(addr) // false for an invalid address or the other family
	case e.table != nil:
		if name != "" && name != "unknown" {
			for n := name; n != ""; {
				if ml.lookup(ctx, s, e, n) {
					return true
				}
				if !ml.parentMatch {
					break
				}
				i := strings.IndexByte(n, '.')
				if i < 0 {
					break
				}
				n = n[i+1:]
			}
		}
		return addr.IsValid() && ml.lookup(ctx, s, e, addrString(addr))
	case name == "" || name == "unknown":
		return false
	case strings.HasPrefix(e.name, "."):
		return strings.HasSuffix(name, e.name)
	case name == e.name:
		return true
	case ml.parentMatch:
		return strings.HasSuffix(name, "."+e.name)
	}
	return false
}

func (ml *matchList) lookup(ctx context.Context, s *state, e *matchEntry, key string) bool {
	_, ok, err := e.table.Lookup(ctx, key)
	if err != nil {
		if s != nil {
			s.dictRetry(key, err)
		}
		return false
	}
	return ok
}
