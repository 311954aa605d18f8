package smtp

import (
	"context"
	"errors"
	"net"
	"sort"
	"strings"
)

// Resolver is the DNS a Client uses for MX lookups; *net.Resolver
// satisfies it.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// ErrNullMX is returned for a domain that publishes a null MX (RFC 7505):
// it accepts no mail.
var ErrNullMX = errors.New("smtp: domain accepts no mail (null MX)")

// LookupMX returns the mail exchangers of domain in preference order
// (RFC 5321 5.1): its MX hosts, or, when it has none, the domain itself
// if it has an A or AAAA record. A nil resolver is net.DefaultResolver.
func LookupMX(ctx context.Context, r Resolver, domain string) ([]string, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	domain = strings.TrimSuffix(domain, ".")
	mxs, err := r.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
		return nil, err
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, ErrNullMX
	}
	if len(mxs) == 0 {
		if _, err := r.LookupHost(ctx, domain); err != nil {
			return nil, err
		}
		return []string{domain}, nil
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	hosts := make([]string, 0, len(mxs))
	for _, mx := range mxs {
		hosts = append(hosts, strings.TrimSuffix(mx.Host, "."))
	}
	return hosts, nil
}

// DialMX connects to the first reachable mail exchanger of domain on
// port ("25" when empty), trying them in preference order.
func DialMX(ctx context.Context, r Resolver, domain, port string) (*Client, error) {
	return (&Dialer{}).DialMX(ctx, r, domain, port)
}

// DialMX is the package's DialMX with the Dialer's options; the
// certificate is verified against the MX host name.
func (d *Dialer) DialMX(ctx context.Context, r Resolver, domain, port string) (*Client, error) {
	hosts, err := LookupMX(ctx, r, domain)
	if err != nil {
		return nil, err
	}
	if port == "" {
		port = "25"
	}
	var last error
	for _, h := range hosts {
		c, err := d.Dial(ctx, net.JoinHostPort(h, port))
		if err == nil {
			return c, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, last
}
