package tlspolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Defaults of Resolver fields.
const (
	DefaultDNSTimeout = 10 * time.Second
	// DefaultMaxRecords bounds the records of one RRset taken from an
	// answer (a DNS message is at most 64 KiB in any case).
	DefaultMaxRecords = 100
)

// ErrDNSTemporary is returned (wrapped) for a lookup that failed for
// now: SERVFAIL (which is also what a validating resolver answers for
// bogus DNSSEC data), REFUSED, a timeout or a garbled answer.
var ErrDNSTemporary = errors.New("DNS lookup failed, try again")

// Resolver asks one recursive resolver over UDP (TCP when the answer is
// truncated) with the DO bit set and reads its AD bit. DANE is only as
// good as that bit: Addr must be a validating resolver this host trusts
// over a trusted path, normally unbound on 127.0.0.1, as Postfix's
// smtp_dns_support_level = dnssec assumes of the resolver in
// /etc/resolv.conf ("options trust-ad").
type Resolver struct {
	// Addr is the resolver's "host:port", such as "127.0.0.1:53".
	Addr string
	// Timeout bounds each query; DefaultDNSTimeout when 0.
	Timeout time.Duration
	// MaxRecords bounds the records read from one answer;
	// DefaultMaxRecords when 0.
	MaxRecords int
}

// Answer is the records of one lookup and whether the resolver
// validated them (the AD bit). An empty Answer with a nil error is a
// name or type that does not exist (NXDOMAIN or NODATA); Secure then
// says the denial was validated.
type Answer struct {
	Records []dns.RR
	Secure  bool
}

func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	if r == nil || r.Addr == "" {
		return nil, fmt.Errorf("%w: no resolver address configured", ErrDNSTemporary)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true
	m.SetEdns0(1232, true)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultDNSTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", UDPSize: 1232}
	in, _, err := c.ExchangeContext(ctx, m, r.Addr)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", ErrDNSTemporary, name, dns.TypeToString[qtype], err)
	}
	return in, nil
}

// Lookup asks for name's records of type qtype. CNAMEs in the answer
// are followed by the resolver; the records returned are those of
// qtype only.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (Answer, error) {
	if _, ok := dns.IsDomainName(name); !ok || len(name) > 253 {
		return Answer{}, fmt.Errorf("bad domain name %q", truncate(name, 80))
	}
	in, err := r.exchange(ctx, name, qtype)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Secure: in.AuthenticatedData}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return Answer{}, fmt.Errorf("%w: %s %s: %s", ErrDNSTemporary, name, dns.TypeToString[qtype], dns.RcodeToString[in.Rcode])
	}
	max := r.MaxRecords
	if max <= 0 {
		max = DefaultMaxRecords
	}
	for _, rr := range in.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		if len(a.Records) >= max {
			break
		}
		a.Records = append(a.Records, rr)
	}
	return a, nil
}

// LookupTXT returns name's TXT records, each with its strings joined,
// as RFC 7208 3.3 and RFC 8461 3.1 read them.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	a, err := r.Lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX returns domain's MX host names (lower case, no trailing dot)
// and whether the answer was validated.
func (r *Resolver) LookupMX(ctx context.Context, domain string) (hosts []string, secure bool, err error) {
	a, err := r.Lookup(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, false, err
	}
	for _, rr := range a.Records {
		hosts = append(hosts, normalizeHost(rr.(*dns.MX).Mx))
	}
	return hosts, a.Secure, nil
}

// LookupTLSA returns the TLSA records of a TLS service ("_25._tcp.HOST",
// RFC 6698 3) and whether they were validated. Records are returned as
// they are, usable or not; see TLSA.Usable.
func (r *Resolver) LookupTLSA(ctx context.Context, port int, host string) ([]TLSA, bool, error) {
	name := fmt.Sprintf("_%d._tcp.%s", port, host)
	a, err := r.Lookup(ctx, name, dns.TypeTLSA)
	if err != nil {
		return nil, false, err
	}
	out := make([]TLSA, 0, len(a.Records))
	for _, rr := range a.Records {
		t := rr.(*dns.TLSA)
		rec, err := ParseTLSAText(fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, t.Certificate))
		if err != nil {
			continue // malformed: unusable (RFC 7672 2.2)
		}
		out = append(out, rec)
	}
	return out, a.Secure, nil
}

// TXTResolver is the DNS MTA-STS and TLS-RPT ask for TXT records;
// *Resolver and net.DefaultResolver's LookupTXT shape both fit.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NetTXT adapts a *net.Resolver (which returns no error for a name
// without TXT records, but a *net.DNSError with IsNotFound) to
// TXTResolver.
type NetTXT struct{ R *net.Resolver }

// LookupTXT implements TXTResolver.
func (n NetTXT) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r := n.R
	if r == nil {
		r = net.DefaultResolver
	}
	txt, err := r.LookupTXT(ctx, name)
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDNSTemporary, err)
	}
	return txt, nil
}

func normalizeHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// maxCNAMEs bounds the CNAME chain followed in an answer.
const maxCNAMEs = 8

// LookupAddrs looks up host's A and AAAA records for DANE (RFC 7672
// 2.2.2): secure when both answers (records or denial) were validated,
// and target the fully CNAME-expanded name when the answers came through
// a CNAME chain ("" otherwise).
func (r *Resolver) LookupAddrs(ctx context.Context, host string) (secure bool, target string, err error) {
	secure = true
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if _, ok := dns.IsDomainName(host); !ok || len(host) > 253 {
			return false, "", fmt.Errorf("bad domain name %q", truncate(host, 80))
		}
		in, err := r.exchange(ctx, host, qt)
		if err != nil {
			return false, "", err
		}
		if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
			return false, "", fmt.Errorf("%w: %s %s: %s", ErrDNSTemporary, host, dns.TypeToString[qt], dns.RcodeToString[in.Rcode])
		}
		secure = secure && in.AuthenticatedData
		if t := cnameTarget(in, host); t != "" {
			target = t
		}
	}
	return secure, target, nil
}

// cnameTarget follows the CNAME records of an answer from name, "" when
// there are none.
func cnameTarget(in *dns.Msg, name string) string {
	cur := dns.Fqdn(strings.ToLower(name))
	found := false
	for i := 0; i < maxCNAMEs; i++ {
		next := ""
		for _, rr := range in.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, cur) {
				next = strings.ToLower(c.Target)
				break
			}
		}
		if next == "" {
			break
		}
		cur, found = next, true
	}
	if !found {
		return ""
	}
	return normalizeHost(cur)
}
