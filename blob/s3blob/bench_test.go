package s3blob_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/internal/testutil"
)

// BenchmarkSeaweedFS measures Put of a new body and Open+read of a
// stored one, 4 KB and 100 KB, against a private SeaweedFS with fsync on,
// one goroutine (latency-bound) and with -cpu parallelism via
// RunParallel.
func BenchmarkSeaweedFS(b *testing.B) {
	w := testutil.StartSeaweedFS(b)
	for _, size := range []int{4 << 10, 100 << 10} {
		s := open(b, w, "bench", nil)
		body := make([]byte, size)
		rand.Read(body)
		var seq uint64
		next := func() ([]byte, string) {
			p := bytes.Clone(body)
			seq++
			binary.BigEndian.PutUint64(p, seq)
			rand.Read(p[8:16])
			return p, blob.Key(p)
		}
		b.Run(fmt.Sprintf("Put/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			ctx := b.Context()
			for b.Loop() {
				p, k := next()
				if err := s.Put(ctx, k, bytes.NewReader(p), int64(len(p))); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("PutParallel/%dKB", size>>10), func(b *testing.B) {
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
		b.Run(fmt.Sprintf("Open/%dKB", size>>10), func(b *testing.B) {
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
		b.Run(fmt.Sprintf("PutExisting/%dKB", size>>10), func(b *testing.B) {
			ctx := b.Context()
			for b.Loop() {
				if err := s.Put(ctx, k, bytes.NewReader(p), int64(len(p))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
