package restrict

import (
	"context"
	"net/netip"
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
	// bad is trivial-rewrite's RESOLVE_FLAG_ERROR: the final domain is
	// not a valid host name or address literal (the SMTP server answers
	// "501 5.1.3 Bad recipient address syntax").
	bad bool
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

// resolveLoopSlack is what trivial-rewrite allows beyond the address
// length in its rewriting loop (loop_max = addr_len + 100): every
// second pass at least strips a domain, so the bound is never reached
// by a real address, however many routing operators it nests.
const resolveLoopSlack = 100

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
	addr := p.canonicalAddr(raw) // raw is already in internal form (see Check and Resolve)
	r := resolved{routed: raw == ""}
	control := false
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f {
			r.routed, control = true, true
		}
	}
	percent := p.cfg.percentHack
	bang := p.cfg.swapBang
	// Without resolve_dequoted_address, a local part that needs quoting
	// (it holds '@', a space...) is a quoted string to trivial-rewrite,
	// and routing operators inside it are not looked at.
	dequoted := p.cfg.dequoted
	var local, domain string
	hasDomain := false
	saved := "" // the last local domain stripped, for an address left without one
	for iter, loopMax := 0, len(raw)+resolveLoopSlack; ; iter++ {
		if iter > loopMax {
			r.routed, r.class = true, ClassDefault
			break
		}
		at := strings.LastIndexByte(addr, '@')
		if at >= 0 && at == len(addr)-1 && p.cfg.nullDomain {
			addr = addr[:at] // resolve_null_domain: "user@" is "user"
			continue
		}
		if at < 0 {
			local = addr
			if dequoted || !needsQuoting(local) {
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
			}
			domain, hasDomain = saved, saved != ""
			r.class = ClassLocal
			break
		}
		local, domain, hasDomain = addr[:at], toLower(truncDot(addr[at+1:])), true
		if p.cfg.numericDomain && validIPv4(domain) {
			domain = "[" + domain + "]" // resolve_numeric_domain
		}
		dc := p.classOf(ctx, s, domain)
		if dc.local {
			if hasAt, hasBang, hasPercent := routingOperators(local); (hasAt || (bang && hasBang) || (percent && hasPercent)) && (dequoted || !needsQuoting(local)) {
				addr, saved = local, domain
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
	if local == "" && r.class == ClassLocal && raw != "" {
		// An empty local part is the local MAILER-DAEMON, as
		// trivial-rewrite makes it (empty_address_recipient).
		local = p.get("empty_address_recipient")
	}
	if !hasDomain {
		domain = strings.ToLower(p.get("myhostname"))
		r.fqdn = ""
	}
	// (An address with control bytes stays "routed" instead: never
	// authorised, refused as a relay attempt.)
	r.bad = !control && !validAddrDomain(domain)
	r.local, r.domain = local, domain
	if len(addr) == len(local)+1+len(domain) && strings.HasPrefix(addr, local) && addr[len(local)] == '@' && strings.HasSuffix(addr, domain) {
		r.addr = addr // already canonical: no copy
	} else {
		r.addr = local + "@" + domain
	}
	return r
}

// canonicalAddr is what smtpd's and cleanup's address canonicalization
// (trivial-rewrite's "local" rewrite context) does before an address is
// resolved: with resolve_null_domain "user@" loses its '@' (a lone "@"
// is the empty address, empty_address_recipient); an address without
// '@' becomes "user@site" for "site!user" (swap_bangpath) or
// "user%site" (allow_percent_hack), else gets "@$myorigin"
// (append_at_myorigin). So a bare "user" is local only if $myorigin is.
func (p *Policy) canonicalAddr(a string) string {
	if a == "" {
		return a
	}
	if p.cfg.nullDomain && a[len(a)-1] == '@' {
		if a = a[:len(a)-1]; a == "" {
			a = p.get("empty_address_recipient")
		}
		if a[len(a)-1] == '@' && p.cfg.appendAtMyorigin {
			// "user@@": the local part is "user@" (Postfix 3.7
			// delivers to "user@"@$myorigin).
			if o := p.get("myorigin"); o != "" {
				return a + "@" + o
			}
		}
	}
	if strings.IndexByte(a, '@') >= 0 {
		return a
	}
	if !needsQuoting(a) {
		if i := strings.IndexByte(a, '!'); i >= 0 && p.cfg.swapBang {
			return a[i+1:] + "@" + a[:i]
		}
		if i := strings.LastIndexByte(a, '%'); i >= 0 && p.cfg.percentHack {
			return a[:i] + "@" + a[i+1:]
		}
	}
	if p.cfg.appendAtMyorigin {
		if o := p.get("myorigin"); o != "" {
			return a + "@" + o
		}
	}
	return a
}

// Canonical returns addr as Postfix's cleanup writes it into the queue
// file: a bare "user" gets "@$myorigin" (append_at_myorigin), "site!user"
// and "user%site" are turned around (swap_bangpath, allow_percent_hack),
// "user@" loses its '@' (resolve_null_domain); other addresses are
// returned unchanged.
func (p *Policy) Canonical(addr string) string { return p.canonicalAddr(addr) }

// validAddrDomain is trivial-rewrite's test of a resolved recipient
// domain: an address literal must hold a valid address ("[192.0.2.1]",
// "[IPv6:2001:db8::1]"), anything else must be a valid host name (so a
// bare "192.0.2.1" is refused unless resolve_numeric_domain made it a
// literal). Non-ASCII labels (SMTPUTF8 domains) are left to the SMTP
// server, which accepts them only with SMTPUTF8.
func validAddrDomain(domain string) bool {
	if strings.HasPrefix(domain, "[") {
		return len(domain) > 2 && domain[len(domain)-1] == ']' && validMailhostAddr(domain[1:len(domain)-1])
	}
	for i := 0; i < len(domain); i++ {
		if domain[i] >= 0x80 {
			return domain != "" && !strings.Contains(domain, "..") && domain[0] != '.' && domain[len(domain)-1] != '.'
		}
	}
	return validHostname(domain)
}

// needsQuoting reports whether an RFC 5322 local part must be written
// as a quoted string (quote_822_local): it is empty, holds a special
// other than '.', a space or a control character, or its dots do not
// make a dot-atom.
func needsQuoting(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return true
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(`()<>@,;:\"[]`, c) >= 0 {
			return true
		}
	}
	return false
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
			// An IPv4-mapped IPv6 literal is the IPv4 address, as
			// Postfix's normalize_mailhost_addr makes it.
			if a, err := netip.ParseAddr(lit); err == nil && a.Is4In6() {
				lit = a.Unmap().String()
			}
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
