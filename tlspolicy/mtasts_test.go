package tlspolicy

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// txtMap is an in-memory TXT table: the DNS part is tested against nsd
// in package queue; this tests the cache's decisions.
type txtMap struct {
	mu sync.Mutex
	m  map[string][]string
}

func (t *txtMap) set(name string, v ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[name] = v
}

func (t *txtMap) LookupTXT(_ context.Context, name string) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.m[name]; ok && v == nil {
		return nil, ErrDNSTemporary
	}
	return t.m[name], nil
}

func TestSTSCache(t *testing.T) {
	var mu sync.Mutex
	body, ctype, status, fetches := "", "text/plain", 200, 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		if r.Host != "mta-sts.example.com" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		switch {
		case status == http.StatusFound:
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
			return
		case status == 0:
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	set := func(b, ct string, st int) {
		mu.Lock()
		body, ctype, status = b, ct, st
		mu.Unlock()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return fetches
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	clock := time.Now()
	txt := &txtMap{m: map[string][]string{}}
	s := &STS{
		Resolver: txt, RootCAs: pool, FetchTimeout: 500 * time.Millisecond,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
		Now: func() time.Time { return clock },
	}
	ctx := context.Background()
	policy := func(mode, mx string) string {
		return "version: STSv1\nmode: " + mode + "\nmx: " + mx + "\nmax_age: 3600\n"
	}

	if _, err := s.Policy(ctx, "example.com"); !errors.Is(err, ErrNoSTSPolicy) || count() != 0 {
		t.Fatalf("no record: %v, %d fetches", err, count())
	}
	txt.set("_mta-sts.example.com", "v=STSv1; id=1", "something else")
	set(policy("enforce", "mx1.example.com"), "text/plain; charset=utf-8", 200)
	p, err := s.Policy(ctx, "Example.COM.")
	if err != nil || p.Mode != STSEnforce || !p.MatchMX("mx1.example.com") || count() != 1 {
		t.Fatalf("first fetch: %+v %v, %d fetches", p, err, count())
	}
	if p, err := s.Policy(ctx, "example.com"); err != nil || p.Mode != STSEnforce || count() != 1 {
		t.Errorf("same id: %v, %d fetches, want the cached policy", err, count())
	}
	// A new id: fetched again.
	txt.set("_mta-sts.example.com", "v=STSv1; id=2")
	set(policy("testing", "mx2.example.com"), "text/plain", 200)
	if p, err := s.Policy(ctx, "example.com"); err != nil || p.Mode != STSTesting || count() != 2 {
		t.Errorf("new id: %+v %v, %d fetches", p, err, count())
	}
	// The record gone, or the DNS failing: the cached policy stays
	// (RFC 8461 5.1).
	txt.set("_mta-sts.example.com")
	if p, err := s.Policy(ctx, "example.com"); err != nil || p.Mode != STSTesting || count() != 2 {
		t.Errorf("record gone: %v %v", p, err)
	}
	txt.set("_mta-sts.example.com", nil...)
	if p, err := s.Policy(ctx, "example.com"); err != nil || p.Mode != STSTesting {
		t.Errorf("DNS failing: %v %v", p, err)
	}
	// A new id whose policy cannot be fetched: the cached one stays.
	txt.set("_mta-sts.example.com", "v=STSv1; id=3")
	set("", "text/plain", 500)
	if p, err := s.Policy(ctx, "example.com"); err != nil || p.Mode != STSTesting {
		t.Errorf("fetch failing with a cached policy: %v %v", p, err)
	}
	// After max_age the cached policy is gone.
	clock = clock.Add(2 * time.Hour)
	if _, err := s.Policy(ctx, "example.com"); !errors.Is(err, ErrSTSFetch) {
		t.Errorf("expired, fetch failing: %v, want ErrSTSFetch", err)
	}
	// Fetch failures, each told apart for TLS-RPT.
	for _, tc := range []struct {
		body, ctype string
		status      int
		err         error
	}{
		{policy("enforce", "mx.example.com"), "text/html", 200, ErrSTSFetch},
		{policy("enforce", "mx.example.com"), "text/plain", 302, ErrSTSFetch},
		{policy("enforce", "mx.example.com"), "text/plain", 404, ErrSTSFetch},
		{policy("enforce", "mx.example.com"), "text/plain", 0, ErrSTSFetch}, // slower than FetchTimeout
		{strings.Repeat("x", MaxSTSPolicySize+1), "text/plain", 200, ErrSTSPolicyInvalid},
		{"version: STSv1\nmode: enforce\n", "text/plain", 200, ErrSTSPolicyInvalid},
	} {
		set(tc.body, tc.ctype, tc.status)
		start := time.Now()
		_, err := s.Policy(ctx, "example.com")
		if !errors.Is(err, tc.err) {
			t.Errorf("status %d %s: %v, want %v", tc.status, tc.ctype, err, tc.err)
		}
		if time.Since(start) > 1500*time.Millisecond {
			t.Errorf("status %d: fetch took %v, beyond FetchTimeout", tc.status, time.Since(start))
		}
	}
	// A certificate that is not trusted.
	s2 := &STS{Resolver: txt, RootCAs: x509.NewCertPool(), DialContext: s.DialContext}
	if _, err := s2.Policy(ctx, "example.com"); !errors.Is(err, ErrSTSFetchCert) {
		t.Errorf("untrusted certificate: %v, want ErrSTSFetchCert", err)
	}
	// mode none: no policy, and cached as such.
	set(policy("none", "mx.example.com"), "text/plain", 200)
	n := count()
	if _, err := s.Policy(ctx, "example.com"); !errors.Is(err, ErrNoSTSPolicy) {
		t.Errorf("mode none: %v", err)
	}
	if _, err := s.Policy(ctx, "example.com"); !errors.Is(err, ErrNoSTSPolicy) || count() != n+1 {
		t.Errorf("mode none cached: %v, %d fetches", err, count()-n)
	}
}
