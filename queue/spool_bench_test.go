package queue

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// spoolMakeDeferred fills dir with n small deferred messages (one recipient,
// about 300 bytes of content, one deferral reason each).
func spoolMakeDeferred(tb testing.TB, dir string, n int) {
	tb.Helper()
	s, _, err := openSpool(spoolOptions{Dir: dir, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.close()
	body := "Subject: scale\r\nFrom: a@example.jp\r\n\r\n" + strings.Repeat("a small message\r\n", 15)
	var wg sync.WaitGroup
	var next atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				m, err := s.put(context.Background(), spoolTestEnvelope("sender@example.jp", "rcpt@example.org"), strings.NewReader(body))
				if err != nil {
					tb.Error(err)
					return
				}
				if err := s.record(m, 0, Deferred, "connect to mx.example.org[192.0.2.9]:25: Connection refused"); err != nil {
					tb.Error(err)
					return
				}
				if err := s.deferTo(m, time.Now().Add(time.Hour)); err != nil {
					tb.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// spoolMeasureRecovery opens the spool in dir and returns how long recovery
// took, how many messages it found and the heap they hold.
func spoolMeasureRecovery(tb testing.TB, dir string) (time.Duration, int, uint64) {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0, wait0 := spoolCPUTime(), spoolRunDelay()
	start := time.Now()
	s, msgs, err := openSpool(spoolOptions{Dir: dir})
	took := time.Since(start)
	if cpu := spoolCPUTime() - cpu0; cpu > 0 {
		tb.Logf("recovery: %v wall, %v CPU (user+system) of this process, its threads waited %v for a CPU",
			took.Round(time.Millisecond), cpu.Round(time.Millisecond), (spoolRunDelay() - wait0).Round(time.Millisecond))
	}
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := len(msgs)
	runtime.KeepAlive(msgs)
	s.close()
	var heap uint64
	if after.HeapInuse > before.HeapInuse {
		heap = after.HeapInuse - before.HeapInuse
	}
	return took, n, heap
}

// TestSpoolScale recovers 100,000 deferred messages and checks the time
// (< 5 s with a warm page cache; the time after dropping the page cache
// is logged) and the heap of the spool's in-memory state (< 200 MiB). It
// runs only with YUBIN_QUEUE_SCALE=1 and without -short.
func TestSpoolScale(t *testing.T) {
	if testing.Short() || os.Getenv("YUBIN_QUEUE_SCALE") != "1" {
		t.Skip("set YUBIN_QUEUE_SCALE=1 (and no -short) to recover 100,000 deferred messages")
	}
	const n = 100_000
	dir := t.TempDir()
	start := time.Now()
	spoolMakeDeferred(t, dir, n)
	t.Logf("wrote %d deferred messages in %v", n, time.Since(start).Round(time.Millisecond))
	// Drop the page cache when allowed, so recovery reads the disk.
	cold := spoolDropCaches()
	took, got, heap := spoolMeasureRecovery(t, dir)
	t.Logf("recovered %d deferred messages in %v (page cache dropped: %v); heap in use %.1f MiB (%d bytes a message)",
		got, took.Round(time.Millisecond), cold, float64(heap)/(1<<20), heap/uint64(max(got, 1)))
	took2, _, _ := spoolMeasureRecovery(t, dir)
	t.Logf("again with a warm page cache: %v", took2.Round(time.Millisecond))
	if got != n {
		t.Fatalf("recovered %d, want %d", got, n)
	}
	// The target is for a warm page cache (a restart, not a boot); the
	// cold time depends on the disk and is only logged.
	if took2 > 5*time.Second {
		t.Errorf("recovery with a warm page cache took %v, want < 5s", took2)
	}
	if heap > 200<<20 {
		t.Errorf("heap %d MiB, want < 200 MiB", heap>>20)
	}
}

// spoolDropCaches asks Linux to drop clean page cache (root only).
func spoolDropCaches() bool {
	exec := func() error {
		f, err := os.OpenFile("/proc/sys/vm/drop_caches", os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString("3\n")
		return err
	}
	return exec() == nil
}

// BenchmarkSpoolRecover recovers 10,000 small deferred messages per
// operation.
func BenchmarkSpoolRecover(b *testing.B) {
	dir := b.TempDir()
	const n = 10_000
	spoolMakeDeferred(b, dir, n)
	b.ResetTimer()
	var heap uint64
	for i := 0; i < b.N; i++ {
		_, got, h := spoolMeasureRecovery(b, dir)
		if got != n {
			b.Fatalf("recovered %d, want %d", got, n)
		}
		heap = h
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/msg")
	b.ReportMetric(float64(heap)/n, "heapB/msg")
}

// BenchmarkSpoolPut puts messages from 1, 10 and 50 goroutines, with 4
// KiB and 100 KiB bodies, durably (fdatasync), and reports the fsyncs
// each message cost. Each message is removed after its put, so the
// spool's segments are reused.
func BenchmarkSpoolPut(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		for _, writers := range []int{1, 10, 50} {
			b.Run(fmt.Sprintf("body=%dKiB/writers=%d", size>>10, writers), func(b *testing.B) {
				s, _ := openTestSpool(b, spoolOptions{Dir: b.TempDir()})
				body := strings.Repeat("x", size-2) + "\r\n"
				b.SetBytes(int64(size))
				before := s.fsyncs.Load()
				var left atomic.Int64
				left.Store(int64(b.N))
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for left.Add(-1) >= 0 {
							m, err := s.put(context.Background(), spoolTestEnvelope("a@example.jp", "b@example.jp"), strings.NewReader(body))
							if err != nil {
								b.Error(err)
								return
							}
							if err := s.remove(m); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(s.fsyncs.Load()-before)/float64(b.N), "fsyncs/msg")
			})
		}
	}
}
