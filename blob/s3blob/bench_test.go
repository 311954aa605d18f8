package s3blob_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/internal/testutil"
)

// BenchmarkSeaweedFS measures Put of a new body, Put of a stored one (a
// HEAD), and Open+read of a stored one, 4 KB and 100 KB, against a
// private SeaweedFS with fsync on: one goroutine (latency-bound), and 4
// per CPU for Put. Besides ns/op it reports the CPU time per operation
// of this process (client-cpu-us/op) and of weed (weed-cpu-us/op), which
// a busy shared machine disturbs less than wall time.
func BenchmarkSeaweedFS(b *testing.B) {
	w := testutil.StartSeaweedFS(b)
	run := func(b *testing.B, name string, fn func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			c0, w0 := selfCPU(), procCPU(w.PID())
			fn(b)
			c1, w1 := selfCPU(), procCPU(w.PID())
			b.ReportMetric(float64((c1-c0).Microseconds())/float64(b.N), "client-cpu-us/op")
			b.ReportMetric(float64((w1-w0).Microseconds())/float64(b.N), "weed-cpu-us/op")
		})
	}
	for _, size := range []int{4 << 10, 100 << 10} {
		s := open(b, w, "bench", nil)
		body := make([]byte, size)
		rand.Read(body)
		// The first write to a new bucket makes its volumes: not timed.
		if err := s.Put(b.Context(), blob.Key(body), bytes.NewReader(body), int64(size)); err != nil {
			b.Fatal(err)
		}
		var seq uint64
		next := func() ([]byte, string) {
			p := bytes.Clone(body)
			seq++
			binary.BigEndian.PutUint64(p, seq)
			rand.Read(p[8:16])
			return p, blob.Key(p)
		}
		run(b, fmt.Sprintf("Put/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			ctx := b.Context()
			for b.Loop() {
				p, k := next()
				if err := s.Put(ctx, k, bytes.NewReader(p), int64(len(p))); err != nil {
					b.Fatal(err)
				}
			}
		})
		run(b, fmt.Sprintf("PutParallel/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			ctx := b.Context()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				p := bytes.Clone(body)
				for pb.Next() {
					rand.Read(p[:16])
					if err := s.Put(ctx, blob.Key(p), bytes.NewReader(p), int64(len(p))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		p, k := next()
		if err := s.Put(b.Context(), k, bytes.NewReader(p), int64(len(p))); err != nil {
			b.Fatal(err)
		}
		run(b, fmt.Sprintf("Open/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			ctx := b.Context()
			for b.Loop() {
				r, err := s.Open(ctx, k)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				r.Close()
				if err != nil || n != int64(size) {
					b.Fatalf("read %d bytes: %v", n, err)
				}
			}
		})
		run(b, fmt.Sprintf("PutExisting/%dKB", size>>10), func(b *testing.B) {
			ctx := b.Context()
			for b.Loop() {
				if err := s.Put(ctx, k, bytes.NewReader(p), int64(len(p))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns process pid's user+system CPU time from /proc (0
// where there is none).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
