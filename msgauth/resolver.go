package msgauth

import (
	"context"
	"net"
)

// Resolver is the DNS msgauth asks for DKIM keys, SPF policies and the
// addresses they name, and DMARC records. *net.Resolver implements it;
// tests point a pure-Go net.Resolver at a DNS server on 127.0.0.1. A "no
// such name" answer must be a *net.DNSError with IsNotFound set, and a
// server failure or timeout one with IsTemporary or IsTimeout set, as
// net.Resolver reports them.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// resolverOrDefault returns r, or net.DefaultResolver when r is nil.
func resolverOrDefault(r Resolver) Resolver {
	if r == nil {
		return net.DefaultResolver
	}
	return r
}

// boundedTXT wraps a TXT lookup so that an answer with more than max
// records or more than maxBytes in all counts as a permanent failure (a
// DNS server answering 500 TXT records costs one bounded parse, not 500).
func boundedTXT(ctx context.Context, r Resolver, name string, max, maxBytes int) ([]string, error) {
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(txts) > max {
		return nil, &net.DNSError{Err: "too many TXT records", Name: name}
	}
	n := 0
	for _, t := range txts {
		n += len(t)
	}
	if n > maxBytes {
		return nil, &net.DNSError{Err: "TXT records too large", Name: name}
	}
	return txts, nil
}
