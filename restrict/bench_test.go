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
// smtpd_recipient_restrictions for one recipient from an outside client
// that passes every check (so every DNSBL is consulted), with DNS answers
// cached.
func BenchmarkSeed001Recipient(b *testing.B) {
	s := newSeed001(b)
	cached := NewCachingResolver(s.dns.resolver(), time.Hour, 0)
	p, err := New(s.policy.params, WithResolver(cached))
	if err != nil {
		b.Fatal(err)
	}
	req := rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "user@zeke.ne.jp")
	ctx := context.Background()
	if d, err := p.Check(ctx, StageRecipient, req); err != nil || d.Refused() {
		b.Fatalf("%v %v", d, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if d, _ := p.Check(ctx, StageRecipient, req); d.Refused() {
			b.Fatal(d)
		}
	}
	// On a shared machine wall time includes waiting for a CPU; the
	// process CPU time per evaluation is what "evaluations per second on
	// one core" means.
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
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
