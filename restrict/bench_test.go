package restrict

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/restrict/table"
)

// BenchmarkSeed001Recipient evaluates seed 001's whole
// smtpd_recipient_restrictions (after the default smtpd_relay_restrictions
// and before the implicit reject_unlisted_recipient, as Check does at
// RCPT) for one recipient from an outside client that passes every check,
// so no step decides and every DNSBL and RHSBL is consulted. The client
// has an (unverified) PTR name so that reject_rhsbl_reverse_client queries
// too. DNS answers come from a real DNS server on 127.0.0.1 through
// NewCachingResolver; the benchmark fails if the timed loop sends the
// server a single query, so every answer is a cached one.
//
// evals/s is evaluations per second of process CPU time: on a shared
// machine wall time includes waiting for a CPU.
func BenchmarkSeed001Recipient(b *testing.B) {
	s := newSeed001(b)
	cached := NewCachingResolver(s.dns.resolver(), time.Hour, 0)
	p, err := New(s.policy.params, WithResolver(cached))
	if err != nil {
		b.Fatal(err)
	}
	req := rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "user@zeke.ne.jp")
	req.ReverseClientName = "mail.example.org"
	ctx := context.Background()
	d, err := p.Check(ctx, StageRecipient, req)
	if err != nil || d.Action != Dunno || d.Restriction != "" || len(d.Warnings) > 0 {
		b.Fatalf("want DUNNO with no deciding restriction and no warnings, got %+v, %v", d, err)
	}
	// Each DNS-based step of the list asked the server once.
	for _, q := range [][2]string{
		{"MX", "example.org"},                      // reject_unknown_sender_domain
		{"A", "1.100.51.198.bl.spamcop.net"},       // reject_rbl_client bl.spamcop.net
		{"A", "1.100.51.198.zen.spamhaus.org"},     // reject_rbl_client zen (twice, one query)
		{"A", "example.org.dbl.spamhaus.org"},      // reject_rhsbl_sender
		{"A", "mx.example.org.dbl.spamhaus.org"},   // reject_rhsbl_helo
		{"A", "mail.example.org.dbl.spamhaus.org"}, // reject_rhsbl_reverse_client
	} {
		if n := s.dns.askedFor(q[0], q[1]); n != 1 {
			b.Fatalf("%s %s: %d queries, want 1", q[0], q[1], n)
		}
	}
	queries := s.dns.queries.Load()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if d, _ := p.Check(ctx, StageRecipient, req); d.Action != Dunno {
			b.Fatal(d)
		}
	}
	cpu := cpuTime() - start
	b.StopTimer()
	if n := s.dns.queries.Load() - queries; n != 0 {
		b.Fatalf("%d DNS queries during the timed loop: answers not cached", n)
	}
	// On a shared machine wall time includes waiting for a CPU; the
	// process CPU time per evaluation is what "evaluations per second on
	// one core" means.
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/(float64(cpu)/1e9), "evals/s")
	}
}

// BenchmarkSeed001RecipientNewSenders is BenchmarkSeed001Recipient
// with a sender address not seen before on every evaluation (same
// domain, so the DNS answers are still cached): the address-resolution
// cache misses and the sender_access lookups find nothing new.
func BenchmarkSeed001RecipientNewSenders(b *testing.B) {
	s := newSeed001(b)
	p, err := New(s.policy.params, WithResolver(NewCachingResolver(s.dns.resolver(), time.Hour, 0)))
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]Request, b.N)
	for i := range reqs {
		reqs[i] = *rcptReq("198.51.100.1", "mx.example.org", fmt.Sprintf("u%d@example.org", i), "user@zeke.ne.jp")
		reqs[i].ReverseClientName = "mail.example.org"
	}
	ctx := context.Background()
	warm := rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "user@zeke.ne.jp")
	warm.ReverseClientName = "mail.example.org"
	if d, err := p.Check(ctx, StageRecipient, warm); err != nil || d.Action != Dunno {
		b.Fatalf("%v %v", d, err)
	}
	queries := s.dns.queries.Load()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := range reqs {
		if d, _ := p.Check(ctx, StageRecipient, &reqs[i]); d.Action != Dunno {
			b.Fatal(d)
		}
	}
	cpu := cpuTime() - start
	b.StopTimer()
	if n := s.dns.queries.Load() - queries; n != 0 {
		b.Fatalf("%d DNS queries during the timed loop: answers not cached", n)
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/(float64(cpu)/1e9), "evals/s")
	}
}

// cpuTime returns the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func bigTexthash(b *testing.B, n int) string {
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, "user%d@example%d.jp OK %d\n", i, i%1000, i)
	}
	path := filepath.Join(b.TempDir(), "big")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkTexthashLoad1M loads a 1,000,000-entry texthash table.
func BenchmarkTexthashLoad1M(b *testing.B) {
	path := bigTexthash(b, 1000000)
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := table.Open("texthash:"+path, &table.Options{ReloadInterval: -1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkTexthashLookup1M looks keys up in a 1,000,000-entry table.
func BenchmarkTexthashLookup1M(b *testing.B) {
	path := bigTexthash(b, 1000000)
	t, err := table.Open("texthash:"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("user%d@example%d.jp", i*977, (i*977)%1000)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, ok, _ := t.Lookup(ctx, keys[i&1023]); !ok {
			b.Fatal("missing key")
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
