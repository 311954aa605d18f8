package restrict

import (
	"errors"
	"net"
	"net/netip"
	"strings"
)

// dnsResult classifies a DNS answer the way Postfix's dns_lookup does.
type dnsResult int

const (
	dnsOK       dnsResult = iota
	dnsNotFound           // NXDOMAIN or no records of the type
	dnsRetry              // temporary failure
	dnsNullMX             // a single "MX 0 ." (RFC 7505)
)

func classifyDNSErr(err error) dnsResult {
	if err == nil {
		return dnsOK
	}
	de, ok := err.(*net.DNSError)
	if !ok && !errors.As(err, &de) {
		return dnsRetry
	}
	{
		if de.IsNotFound {
			return dnsNotFound
		}
	}
	return dnsRetry
}

// fqdn makes name absolute so that the resolver's search list is not used.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// lookupHostAddrOrMX is reject_unknown_hostname's query: A/AAAA, then MX;
// any answer is enough.
func (s *state) lookupHostAddrOrMX(name string) dnsResult {
	ips, err := s.p.resolver.LookupNetIP(s.ctx, "ip", fqdn(name))
	r := classifyDNSErr(err)
	if r == dnsOK && len(ips) > 0 {
		return dnsOK
	}
	mxs, err2 := s.p.resolver.LookupMX(s.ctx, fqdn(name))
	r2 := classifyDNSErr(err2)
	if r2 == dnsOK && len(mxs) > 0 {
		return dnsOK
	}
	if r == dnsRetry || r2 == dnsRetry {
		return dnsRetry
	}
	return dnsNotFound
}

// lookupMailhost is reject_unknown_mailhost's query: MX, else A/AAAA.
func (s *state) lookupMailhost(name string) dnsResult {
	name = fqdn(name)
	mxs, err := s.p.resolver.LookupMX(s.ctx, name)
	switch classifyDNSErr(err) {
	case dnsOK:
		if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
			return dnsNullMX
		}
		if len(mxs) > 0 {
			return dnsOK
		}
	case dnsRetry:
		return dnsRetry
	}
	ips, err := s.p.resolver.LookupNetIP(s.ctx, "ip", name)
	r := classifyDNSErr(err)
	if r == dnsOK && len(ips) == 0 {
		return dnsNotFound
	}
	return r
}

func (s *state) rejectUnknownHostname(name string) status {
	switch s.lookupHostAddrOrMX(name) {
	case dnsNotFound:
		return s.reject(classPolicy, s.p.code("unknown_hostname_reject_code"), "4.7.1", "<%s>: %s rejected: Host not found", name, nameHelo)
	case dnsRetry:
		return s.deferIfPermitOrReject(s.p.get("unknown_helo_hostname_tempfail_action"), 450, "4.7.1", "<%s>: %s rejected: Host not found", name, nameHelo)
	}
	return stDunno
}

// rejectUnknownAddress is reject_unknown_sender_domain and
// reject_unknown_recipient_domain.
func (s *state) rejectUnknownAddress(addr, replyClass string) status {
	r := s.p.resolveAddr(s.ctx, s, addr)
	if r.class != ClassDefault && r.class != ClassRelay {
		return stDunno
	}
	domain := r.domain
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return stDunno
	}
	sender := replyClass == nameSender
	dsn := "4.1.2"
	if sender {
		dsn = "4.1.8"
	}
	switch s.lookupMailhost(r.absDomain()) {
	case dnsNullMX:
		code, ndsn := 556, "4.1.10"
		if sender {
			code, ndsn = 550, "4.7.27"
		}
		return s.reject(classPolicy, code, ndsn, "<%s>: %s rejected: Domain %s does not accept mail (nullMX)", addr, replyClass, domain)
	case dnsNotFound:
		return s.reject(classPolicy, s.p.code("unknown_address_reject_code"), dsn, "<%s>: %s rejected: Domain not found", addr, replyClass)
	case dnsRetry:
		return s.deferIfPermitOrReject(s.p.get("unknown_address_tempfail_action"), 450, dsn, "<%s>: %s rejected: Domain not found", addr, replyClass)
	}
	return stDunno
}

// rblResult is a cached DNSBL answer.
type rblResult struct {
	addrs []netip.Addr
	txt   string
	soft  bool // temporary failure
}

// rblLookup queries name for A records (and TXT when listed).
func (s *state) rblLookup(query string) *rblResult {
	ips, err := s.p.resolver.LookupNetIP(s.ctx, "ip4", fqdn(query))
	switch classifyDNSErr(err) {
	case dnsNotFound:
		return nil
	case dnsRetry:
		s.p.log.Warn("RBL lookup error", "query", query, "err", err)
		return &rblResult{soft: true}
	}
	if len(ips) == 0 {
		return nil
	}
	res := &rblResult{addrs: ips}
	if txts, err := s.p.resolver.LookupTXT(s.ctx, fqdn(query)); err == nil {
		var b strings.Builder
		for i, t := range txts {
			if b.Len()+len(t) > 500 {
				t = t[:max(0, 500-b.Len())]
			}
			b.WriteString(t)
			if i+1 < len(txts) && b.Len() < 497 {
				b.WriteString(" / ")
			}
			if b.Len() >= 500 {
				break
			}
		}
		res.txt = b.String()
	}
	return res
}

// rblSpec is a DNSBL domain with an optional "=127.0.0.[2..11]" filter.
type rblSpec struct {
	full         string // as written, for rbl_reply_maps
	domain       string
	dotDomainDot string // ".domain." for building queries
	filter       *ipMatch
	cache        rblCache
}

func parseRBLSpec(arg string) (*rblSpec, error) {
	d, f, hasFilter := strings.Cut(arg, "=")
	if d == "" || !validHostname(truncDot(d)) {
		return nil, errors.New("bad DNSBL domain name")
	}
	spec := &rblSpec{full: arg, domain: d, dotDomainDot: "." + fqdn(d)}
	if hasFilter {
		m, err := parseIPMatch(f)
		if err != nil {
			return nil, err
		}
		spec.filter = m
	}
	return spec, nil
}

// findDNSXLAddr queries the list for a client address and applies the
// reply filter. nil means not listed.
func (s *state) findDNSXLAddr(spec *rblSpec, a netip.Addr) *rblResult {
	a = a.Unmap().WithZone("")
	now := s.rblNow()
	res, ok := spec.cache.getAddr(a, now)
	if !ok {
		res = s.rblLookup(reverseAddr(a) + spec.dotDomainDot)
		spec.cache.putAddr(a, res, now)
	}
	return spec.filtered(res)
}

// findDNSXLName queries the list for the domain of what (an address or
// a name) and applies the reply filter. nil means not listed, or not a
// domain to query (see rhsblDomain).
func (s *state) findDNSXLName(spec *rblSpec, what string) *rblResult {
	domain := what
	if i := strings.LastIndexByte(what, '@'); i >= 0 {
		domain = what[i+1:]
	}
	now := s.rblNow()
	res, ok := spec.cache.getName(domain, now)
	if !ok {
		// Only a domain that passes rhsblDomain's checks is queried and
		// cached; they depend on the domain alone, so a cached one needs
		// no new check.
		if rhsblDomain(what) == "" {
			return nil
		}
		res = s.rblLookup(domain + spec.dotDomainDot)
		spec.cache.putName(domain, res, now)
	}
	return spec.filtered(res)
}

// rblNow is the time for the DNSBL caches, read once per evaluation.
func (s *state) rblNow() int64 {
	if s.now == 0 {
		s.now = s.p.rblClock.nano()
	}
	return s.now
}

// filtered applies the "=127.0.0.[2..11]" reply filter to an answer.
func (spec *rblSpec) filtered(res *rblResult) *rblResult {
	if res == nil || res.soft || spec.filter == nil {
		return res
	}
	for _, a := range res.addrs {
		if spec.filter.match(a) {
			return res
		}
	}
	return nil
}

// reverseAddr makes the DNSBL query prefix for an address: reversed
// octets for IPv4, reversed nibbles for IPv6.
func reverseAddr(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return itoa(int(b[3])) + "." + itoa(int(b[2])) + "." + itoa(int(b[1])) + "." + itoa(int(b[0]))
	}
	b := a.As16()
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 64)
	for i := 15; i >= 0; i-- {
		out = append(out, hexd[b[i]&0xf], '.', hexd[b[i]>>4], '.')
	}
	return string(out[:len(out)-1])
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	var buf [4]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

func (s *state) rejectRBLAddr(spec *rblSpec, replyClass string) status {
	a := s.req.ClientAddr
	if !a.IsValid() {
		return stDunno
	}
	res := s.findDNSXLAddr(spec, a)
	if res == nil || res.soft {
		return stDunno
	}
	return s.rblReply(spec, res, addrString(a), replyClass)
}

func (s *state) permitDNSWLAddr(spec *rblSpec) status {
	if s.stage == StageRecipient && s.recipient.set && !s.permitAuthDestination(s.recipient.val) {
		return stDunno
	}
	a := s.req.ClientAddr
	if !a.IsValid() {
		return stDunno
	}
	res := s.findDNSXLAddr(spec, a)
	switch {
	case res == nil:
		return stDunno
	case res.soft:
		deferIf(&s.deferIfReject, 450, "4.7.1", "<%s>: %s rejected: %s", addrString(a), nameClient, "Service unavailable")
		return stDunno
	}
	return stOK
}

// rhsblDomain extracts the domain of what (an address or a name) for an
// RHSBL query, or "" to skip.
func rhsblDomain(what string) string {
	domain := what
	if i := strings.LastIndexByte(what, '@'); i >= 0 {
		domain = what[i+1:]
		if strings.HasPrefix(domain, "[") {
			return ""
		}
	}
	if domain == "" {
		return ""
	}
	last := domain
	if i := strings.LastIndexByte(domain, '.'); i >= 0 {
		last = domain[i+1:]
	}
	if allDigits(last) || !validHostname(domain) {
		return ""
	}
	return domain
}

func (s *state) rejectRBLDomain(spec *rblSpec, what, replyClass string) status {
	res := s.findDNSXLName(spec, what)
	if res == nil || res.soft {
		return stDunno
	}
	return s.rblReply(spec, res, what, replyClass)
}

func (s *state) permitDNSWLDomain(spec *rblSpec, what string) status {
	if s.stage == StageRecipient && s.recipient.set && !s.permitAuthDestination(s.recipient.val) {
		return stDunno
	}
	res := s.findDNSXLName(spec, what)
	switch {
	case res == nil:
		return stDunno
	case res.soft:
		deferIf(&s.deferIfReject, 450, "4.7.1", "<%s>: %s rejected: %s", what, nameClient, "Service unavailable")
		return stDunno
	}
	return stOK
}

// rblReply formats the refusal from default_rbl_reply or rbl_reply_maps.
func (s *state) rblReply(spec *rblSpec, res *rblResult, what, replyClass string) status {
	p := s.p
	tmpl := ""
	if p.rblReplyMaps != nil {
		if v, ok := p.rblReplyMaps.lookup(s, spec.full); ok {
			tmpl = v
		}
	}
	vars := func(name string) (string, bool) {
		switch name {
		case "rbl_code":
			return itoa(p.code("maps_rbl_reject_code")), true
		case "rbl_domain":
			return spec.domain, true
		case "rbl_reason", "rbl_txt":
			return res.txt, true
		case "rbl_what":
			return what, true
		case "rbl_class":
			return replyClass, true
		}
		return s.smtpdMacro(name)
	}
	text, err := expandTemplate(tmpl, vars)
	if tmpl == "" || err != nil {
		def, _ := p.params.raw("default_rbl_reply")
		text, _ = expandTemplate(def, vars)
	}
	if len(text) < 4 || (text[0] != '4' && text[0] != '5') || !isDigit(text[1]) || !isDigit(text[2]) || text[3] != ' ' {
		p.log.Warn("rbl response code configuration error", "reply", text)
		return s.reject(classPolicy, 450, "4.7.1", "Service unavailable")
	}
	code := int(text[0]-'0')*100 + int(text[1]-'0')*10 + int(text[2]-'0')
	dsn, t := dsnSplit("4.7.1", text[4:])
	if t == "" {
		t = "Service unavailable"
	}
	return s.reject(classPolicy, code, dsnFix(dsn, replyClass), "%s", t)
}

// smtpdMacro answers the SMTP attribute names Postfix allows in reply
// templates ($client, $sender, ...), never main.cf parameters.
func (s *state) smtpdMacro(name string) (string, bool) {
	orNull := func(o optional) string {
		if o.set && o.val == "" {
			return "<>"
		}
		return o.val
	}
	switch name {
	case "client":
		return s.namaddr(), true
	case "client_address":
		return addrString(s.req.ClientAddr), true
	case "client_name":
		return s.req.clientName(), true
	case "reverse_client_name":
		return s.req.reverseClientName(), true
	case "helo_name":
		if !s.helo.set {
			return "", true
		}
		return s.helo.val, true
	case "sender":
		return orNull(s.sender), true
	case "recipient":
		return orNull(s.recipient), true
	}
	return "", false
}
