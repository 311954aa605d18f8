package fileblob_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/fileblob"
)

// BenchmarkFileblob measures a durable Put (write, fsync, link, fsync
// dir) and Open+read of 4 KB and 100 KB bodies: the local-disk
// reference for s3blob's figures.
func BenchmarkFileblob(b *testing.B) {
	s, err := fileblob.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{4 << 10, 100 << 10} {
		body := make([]byte, size)
		rand.Read(body)
		var key string
		b.Run(fmt.Sprintf("Put/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				rand.Read(body[:16])
				key = blob.Key(body)
				if err := s.Put(b.Context(), key, bytes.NewReader(body), int64(size)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Open/%dKB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				r, err := s.Open(b.Context(), key)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(size) {
					b.Fatal(n, err)
				}
				r.Close()
			}
		})
	}
}
