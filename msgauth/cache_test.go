package msgauth

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestNSDCachingResolver: answers from nsd, found and "no such name"
// alike, are asked once within the TTL; a timeout is not remembered.
func TestNSDCachingResolver(t *testing.T) {
	t.Parallel()
	ns := startDNS(t, map[string]string{"example.test.": "@ TXT \"v=spf1 -all\"\n"})
	cr := &countingResolver{Resolver: ns.Resolver()}
	c := &CachingResolver{Resolver: cr, TTL: time.Minute}
	ctx := context.Background()
	for range 3 {
		if v, err := c.LookupTXT(ctx, "example.test"); err != nil || len(v) != 1 {
			t.Fatalf("%v %v", v, err)
		}
		var dnsErr *net.DNSError
		if _, err := c.LookupTXT(ctx, "missing.example.test"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Fatalf("missing: %v", err)
		}
	}
	if n := cr.txt.Load(); n != 2 {
		t.Fatalf("%d lookups for 2 names asked 3 times", n)
	}
	// A server that does not answer: not cached, asked again.
	dead := &countingResolver{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "i/o timeout", IsTimeout: true}
	}}}
	c2 := &CachingResolver{Resolver: dead, TTL: time.Minute}
	c2.LookupTXT(ctx, "example.test")
	c2.LookupTXT(ctx, "example.test")
	if n := dead.txt.Load(); n != 2 {
		t.Fatalf("temporary failure cached: %d lookups", n)
	}
}
