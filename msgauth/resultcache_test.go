package msgauth

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestNSDResultCache: with a ResultCache, the same (IP, HELO, MAIL
// FROM) is evaluated once within the TTL and a DMARC record is looked up
// once per From domain; another sender is evaluated anew, a temporary
// failure is not kept, and an expired entry is looked up again.
func TestNSDResultCache(t *testing.T) {
	t.Parallel()
	ns := startDNS(t, map[string]string{"example.test.": "@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"})
	cr := &countingResolver{Resolver: ns.Resolver()}
	rc := &ResultCache{TTL: time.Minute}
	v := &Verifier{Resolver: cr, Results: rc}
	ctx := context.Background()
	ip := net.ParseIP("127.0.0.1")
	first := v.CheckSPF(ctx, ip, "c.example.test", "alice@example.test")
	if first.Result != ResultPass {
		t.Fatalf("spf: %+v", first)
	}
	n := cr.txt.Load()
	if again := v.CheckSPF(ctx, ip, "c.example.test", "alice@example.test"); again != first || cr.txt.Load() != n {
		t.Fatalf("second check: %+v, %d lookups after %d", again, cr.txt.Load(), n)
	}
	if r := v.CheckSPF(ctx, net.ParseIP("127.0.0.2"), "c.example.test", "alice@example.test"); r.Result != ResultFail || cr.txt.Load() == n {
		t.Fatalf("another IP: %+v, %d lookups", r, cr.txt.Load())
	}

	lim := v.Limits.withDefaults()
	_, fields, _ := readHeader(bufioReader("From: a@example.test\r\n\r\n"), 1<<20, 100)
	spf := SPFResult{Result: ResultFail, Domain: "example.test"}
	if d := v.evaluateDMARC(ctx, lim, fields, spf, nil); d.Result != ResultFail || d.Disposition != DispositionReject {
		t.Fatalf("dmarc: %+v", d)
	}
	n = cr.txt.Load()
	if d := v.evaluateDMARC(ctx, lim, fields, spf, nil); d.Result != ResultFail || d.Disposition != DispositionReject || cr.txt.Load() != n {
		t.Fatalf("dmarc again: %+v, %d lookups after %d", d, cr.txt.Load(), n)
	}

	// Expired: asked again.
	rc.mu.Lock()
	for k, e := range rc.spf {
		e.expires = time.Now().Add(-time.Second)
		rc.spf[k] = e
	}
	rc.mu.Unlock()
	n = cr.txt.Load()
	v.CheckSPF(ctx, ip, "c.example.test", "alice@example.test")
	if cr.txt.Load() == n {
		t.Fatal("expired SPF result still used")
	}

	// A DNS server that does not answer: temperror, not kept.
	dead := &countingResolver{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "i/o timeout", IsTimeout: true}
	}}}
	v2 := &Verifier{Resolver: dead, Results: &ResultCache{}}
	for range 2 {
		if r := v2.CheckSPF(ctx, ip, "c.example.test", "alice@example.test"); r.Result != ResultTempError {
			t.Fatalf("dead DNS: %+v", r)
		}
	}
	if dead.txt.Load() < 2 {
		t.Fatalf("temporary failure kept: %d lookups", dead.txt.Load())
	}
}
