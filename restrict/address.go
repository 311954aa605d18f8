package restrict

import (
	"context"
	"strings"
)

// resolved is the result of Postfix's trivial-rewrite address resolution,
// as far as the SMTP server's restrictions need it.
type resolved struct {
	addr   string // local@domain, domain lower-cased, routes and quotes removed
	local  string
	domain string
	class  AddressClass
	routed bool // routing operators (@ ! %) remain in the local part
	// fqdn is domain with a trailing dot when the domain-class cache
	// had it ready, else "" (see absDomain).
	fqdn string
}

// absDomain returns the domain as an absolute DNS name ("example.jp.").
func (r *resolved) absDomain() string {
	if r.fqdn != "" {
		return r.fqdn
	}
	return fqdn(r.domain)
}

// maxResolveLoops bounds the rewriting of nested routing operators.
const maxResolveLoops = 10

// addrSpecial marks the bytes internalAddr must act on: control bytes,
// '"' and '\\' (a table: every address of every evaluation is scanned).
var addrSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t[0x7f], t['"'], t['\\'] = true, true, true
	return t
}()

// internalAddr turns an RFC 5321 address as the client sent it (without
// angle brackets) into Postfix's internal form: source route removed,
// quoted local part unquoted.
func internalAddr(a string) string {
	quoted := false
	for i := 0; i < len(a); i++ {
		if !addrSpecial[a[i]] {
			continue
		}
		switch c := a[i]; {
		case c < 0x20 || c == 0x7f:
			return a // keep control bytes visible to resolveAddr: never authorised
		case c == '"' || c == '\\':
			quoted = true
		}
	}
	// "@a,@b:user@domain": a source route; RFC 5321 says to strip it.
	if strings.HasPrefix(a, "@") {
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			a = a[i+1:]
		}
	}
	if !quoted { // (unquoting an address without quotes would copy it unchanged)
		return a
	}
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case c == '\\' && i+1 < len(a):
			b.WriteByte(a[i+1])
			i++
		case c == '"':
			inQuote = !inQuote
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// resolveAddr classifies an address the way trivial-rewrite does for the
// SMTP server: "user%host@local" (allow_percent_hack), "host!user"
// (swap_bangpath) and "user@host@local" are rewritten and re-resolved,
// so that the class is that of the final destination. Addresses with
// control characters are treated as routed (never authorised for relay).
func (p *Policy) resolveAddr(ctx context.Context, s *state, raw string) resolved {
	if s != nil {
		for i := range s.rcache {
			if s.rcache[i].ok && s.rcache[i].raw == raw {
				return s.rcache[i].r
			}
		}
		r := p.resolveAddrUncached(ctx, s, raw)
		s.rcache[s.rnext] = resolveMemo{ok: true, raw: raw, r: r}
		s.rnext = (s.rnext + 1) % len(s.rcache)
		return r
	}
	return p.resolveAddrUncached(ctx, s, raw)
}

// resolveMemo remembers a resolution within one evaluation, as smtpd's
// resolve cache does.
type resolveMemo struct {
	ok  bool
	raw string
	r   resolved
}

func (p *Policy) resolveAddrUncached(ctx context.Context, s *state, raw string) resolved {
	addr := raw // already in internal form (see Check and Resolve)
	r := resolved{routed: raw == ""}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f {
			r.routed = true
		}
	}
	percent := p.cfg.percentHack
	bang := p.cfg.swapBang
	var local, domain string
	for iter := 0; ; iter++ {
		if iter >= maxResolveLoops {
			r.routed = true
			break
		}
		at := strings.LastIndexByte(addr, '@')
		if at < 0 {
			local = addr
			if bang && strings.Contains(local, "!") {
				i := strings.IndexByte(local, '!')
				addr = local[i+1:] + "@" + local[:i]
				continue
			}
			if percent && strings.Contains(local, "%") {
				i := strings.LastIndexByte(local, '%')
				addr = local[:i] + "@" + local[i+1:]
				continue
			}
			domain = ""
			r.class = ClassLocal
			break
		}
		local, domain = addr[:at], toLower(truncDot(addr[at+1:]))
		dc := p.classOf(ctx, s, domain)
		if dc.local {
			if hasAt, hasBang, hasPercent := routingOperators(local); hasAt || (bang && hasBang) || (percent && hasPercent) {
				addr = local
				continue
			}
			r.class = ClassLocal
			break
		}
		r.class, r.fqdn = dc.class, dc.fqdn
		break
	}
	if hasRoutingOperator(local) {
		r.routed = true
	}
	if domain == "" {
		domain = strings.ToLower(p.get("myhostname"))
		r.fqdn = ""
	}
	r.local, r.domain = local, domain
	if len(addr) == len(local)+1+len(domain) && strings.HasPrefix(addr, local) && addr[len(local)] == '@' && strings.HasSuffix(addr, domain) {
		r.addr = addr // already canonical: no copy
	} else {
		r.addr = local + "@" + domain
	}
	return r
}

// hasRoutingOperator reports whether local contains '@', '!' or '%'
// (a byte loop: strings.ContainsAny builds a set on every call).
func hasRoutingOperator(local string) bool {
	hasAt, hasBang, hasPercent := routingOperators(local)
	return hasAt || hasBang || hasPercent
}

// routingOperators reports which of '@', '!' and '%' local contains, in
// one pass.
func routingOperators(local string) (hasAt, hasBang, hasPercent bool) {
	for i := 0; i < len(local); i++ {
		switch local[i] {
		case '@':
			hasAt = true
		case '!':
			hasBang = true
		case '%':
			hasPercent = true
		}
	}
	return hasAt, hasBang, hasPercent
}

// isLocalDomain is resolve_local: mydestination, or an address literal
// of this host ($inet_interfaces, $proxy_interfaces).
func (p *Policy) isLocalDomain(ctx context.Context, s *state, domain string) bool {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		lit := domain[1 : len(domain)-1]
		if len(lit) > 5 && strings.EqualFold(lit[:5], "ipv6:") {
			lit = lit[5:]
		}
		return p.ownAddrs[strings.ToLower(lit)]
	}
	return p.mydest.match(ctx, s, domain)
}

// domainClass classifies a non-local domain.
func (p *Policy) domainClass(ctx context.Context, s *state, domain string) AddressClass {
	switch {
	case p.virtAliasDomains.match(ctx, s, domain):
		return ClassVirtualAlias
	case p.virtMailboxDomains.match(ctx, s, domain):
		return ClassVirtualMailbox
	case p.relayDomains.match(ctx, s, domain):
		return ClassRelay
	}
	return ClassDefault
}

// stripExtension removes the recipient_delimiter extension from a local
// part ("user+tag" -> "user"). Special addresses keep theirs.
func (p *Policy) stripExtension(local string) string {
	user, _ := p.splitExtension(local)
	return user
}

func (p *Policy) splitExtension(local string) (user, ext string) {
	delims := p.cfg.recipientDelimiter
	if delims == "" {
		return local, ""
	}
	i := strings.IndexAny(local, delims)
	if i <= 0 {
		return local, ""
	}
	lower := strings.ToLower(local)
	if p.cfg.ownerRequestSpecial && (strings.HasPrefix(lower, "owner-") || strings.HasSuffix(lower, "-request")) {
		return local, ""
	}
	return local[:i], local[i+1:]
}
