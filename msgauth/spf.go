package msgauth

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"blitiri.com.ar/go/spf"
)

// SPFResult is the outcome of an SPF check (RFC 7208 section 2.6).
type SPFResult struct {
	Result   string // none, neutral, pass, fail, softfail, temperror, permerror
	Identity string // "mailfrom", or "helo" for the null sender
	Domain   string // the domain whose policy was checked
	Sender   string // the MAIL FROM address (postmaster@HELO for the null sender)
	Reason   string // why, when it did not pass: for logs and A-R comments
}

// CheckSPF evaluates the SPF policy for a client IP, its HELO name and
// the MAIL FROM address (RFC 7208 check_host()). With the null sender
// the HELO identity is checked, as postmaster@helo (section 2.4). The
// RFC's limits apply: Limits.SPFLookups DNS-querying terms,
// Limits.SPFVoidLookups empty answers, Limits.Timeout for the whole check.
func (v *Verifier) CheckSPF(ctx context.Context, ip net.IP, helo, mailFrom string) SPFResult {
	key := spfKey(ip.String(), helo, mailFrom)
	if r, ok := v.Results.getSPF(key); ok {
		return r
	}
	r := v.checkSPF(ctx, ip, helo, mailFrom)
	v.Results.putSPF(key, r)
	return r
}

func (v *Verifier) checkSPF(ctx context.Context, ip net.IP, helo, mailFrom string) SPFResult {
	lim := v.Limits.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	r := SPFResult{Identity: "mailfrom", Sender: mailFrom}
	if mailFrom == "" || !strings.Contains(mailFrom, "@") {
		r.Identity = "helo"
		if mailFrom == "" {
			r.Sender = "postmaster@" + helo
		}
	}
	r.Domain = strings.ToLower(addrDomain(r.Sender))
	if r.Domain == "" {
		r.Domain = strings.ToLower(helo)
	}
	if r.Domain == "" || strings.HasPrefix(helo, "[") && r.Identity == "helo" {
		r.Result, r.Reason = ResultNone, "no domain to check"
		return r
	}
	sr := newSPFResolver(resolverOrDefault(v.Resolver), lim, ip)
	res, err := spf.CheckHostWithSender(ip, helo, r.Sender,
		spf.WithContext(ctx),
		spf.WithResolver(sr),
		spf.OverrideLookupLimit(uint(lim.SPFLookups)),
		// Void lookups are counted by spfResolver, as pyspf counts them.
		spf.OverrideVoidLookupLimit(1000),
	)
	r.Result = string(res)
	if sr.exceeded() {
		res, err = spf.PermError, spf.ErrVoidLookupLimitReached
		r.Result = string(res)
	}
	if err != nil && res != spf.Pass {
		r.Reason = reasonText(err)
	}
	if v.Logger != nil {
		v.Logger.DebugContext(ctx, "spf", "ip", ip.String(), "domain", r.Domain, "result", r.Result, "reason", r.Reason)
	}
	return r
}

// reasonText shortens a library error for logs and header comments.
func reasonText(err error) string {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "DNS: " + dnsErr.Err
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// spfResolver sits between the SPF library and the Resolver for one
// check. It bounds TXT answers (only "v=spf1" records count, at most
// Limits.MaxTXTRecords), turns a record with a syntax error anywhere
// into one the library refuses at once (RFC 7208 section 4.6), and
// counts void lookups (section 4.6.4) the way pyspf, the reference
// implementation, does: every query that returns no data or NXDOMAIN —
// including the address lookups of MX and PTR names — and, for an
// address lookup, "no data" in the client's address family (A for
// IPv4, AAAA for IPv6; always A for exists:).
type spfResolver struct {
	r        Resolver
	lim      Limits
	clientV4 bool

	mu          sync.Mutex
	voids       int
	voidExceed  bool
	familyNames map[string]bool // a, mx and ptr targets: looked up in the client's family
	existsNames map[string]bool // literal exists: targets: A only
}

func newSPFResolver(r Resolver, lim Limits, ip net.IP) *spfResolver {
	return &spfResolver{r: r, lim: lim, clientV4: ip.To4() != nil, familyNames: map[string]bool{}, existsNames: map[string]bool{}}
}

// errVoidLimit stops the library once the void lookup limit is passed;
// the check's result is then permerror.
var errVoidLimit = &net.DNSError{Err: "void lookup limit exceeded", IsTemporary: true}

// void counts one void answer and reports whether the limit is passed.
func (s *spfResolver) void() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.voids++
	if s.voids > s.lim.SPFVoidLookups {
		s.voidExceed = true
	}
	return s.voidExceed
}

func (s *spfResolver) exceeded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.voidExceed
}

func isVoid(n int, err error) bool {
	var dnsErr *net.DNSError
	return err == nil && n == 0 || errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

func (s *spfResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if s.exceeded() {
		return nil, errVoidLimit
	}
	txts, err := s.r.LookupTXT(ctx, name)
	if isVoid(len(txts), err) && s.void() {
		return nil, errVoidLimit
	}
	if err != nil {
		return nil, err
	}
	var out []string
	n := 0
	for _, t := range txts {
		l := strings.ToLower(t)
		if l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			n += len(t)
			terms, err := ParseSPFRecord(t)
			if err != nil {
				// RFC 7208 section 4.6: a syntax error anywhere is a
				// permerror before any term is evaluated. The library
				// evaluates term by term; a record whose first term is
				// invalid makes it stop at once.
				t = "v=spf1 invalid-record"
			}
			s.noteTargets(strings.TrimSuffix(strings.ToLower(name), "."), terms)
			out = append(out, t)
		}
	}
	if len(out) > s.lim.MaxTXTRecords || n > s.lim.MaxTXTBytes {
		return nil, &net.DNSError{Err: "SPF records too large", Name: name}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// noteTargets records which names a record's a and exists terms look up.
func (s *spfResolver) noteTargets(domain string, terms []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range terms {
		t = strings.ToLower(strings.TrimLeft(t, "+-~?"))
		name, arg, hasArg := strings.Cut(t, ":")
		switch {
		case !hasArg && (name == "a" || strings.HasPrefix(name, "a/")):
			s.familyNames[domain] = true
		case hasArg && name == "a":
			d, _ := splitCIDR(arg)
			s.familyNames[strings.TrimSuffix(d, ".")] = true
		case hasArg && name == "exists" && !strings.Contains(arg, "%"):
			s.existsNames[strings.TrimSuffix(arg, ".")] = true
		}
	}
}

func (s *spfResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if s.exceeded() {
		return nil, errVoidLimit
	}
	mxs, err := s.r.LookupMX(ctx, name)
	if isVoid(len(mxs), err) && s.void() {
		return nil, errVoidLimit
	}
	s.mu.Lock()
	for _, mx := range mxs {
		s.familyNames[strings.ToLower(strings.TrimSuffix(mx.Host, "."))] = true
	}
	s.mu.Unlock()
	return mxs, err
}

func (s *spfResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if s.exceeded() {
		return nil, errVoidLimit
	}
	addrs, err := s.r.LookupIPAddr(ctx, host)
	key := strings.ToLower(strings.TrimSuffix(host, "."))
	s.mu.Lock()
	family := s.familyNames[key] && !s.existsNames[key]
	s.mu.Unlock()
	// Count what a query of one type would have returned.
	wantV4 := s.clientV4 || !family
	n := 0
	for _, a := range addrs {
		if (a.IP.To4() != nil) == wantV4 {
			n++
		}
	}
	if isVoid(n, err) && s.void() {
		return nil, errVoidLimit
	}
	return addrs, err
}

func (s *spfResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	if s.exceeded() {
		return nil, errVoidLimit
	}
	names, err := s.r.LookupAddr(ctx, addr)
	if isVoid(len(names), err) && s.void() {
		return nil, errVoidLimit
	}
	s.mu.Lock()
	for _, n := range names {
		s.familyNames[strings.ToLower(strings.TrimSuffix(n, "."))] = true
	}
	s.mu.Unlock()
	return names, err
}
