package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/blob"
)

func testRoundTrip(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	for _, n := range []int{0, 1, 4097, 3<<20 + 17} {
		b, key := randomBlob(t, n)
		put(t, ctx, s, key, b)
		checkStored(t, ctx, s, key, b)
	}
}

// seekBlob stores 256 KiB+3 random bytes for the reader tests.
func seekBlob(t *testing.T, s blob.Store) ([]byte, blob.Reader) {
	t.Helper()
	ctx := testContext(t)
	b, key := randomBlob(t, 256<<10+3)
	put(t, ctx, s, key, b)
	r, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	if r.Size() != int64(len(b)) {
		t.Fatalf("Size() = %d, want %d", r.Size(), len(b))
	}
	return b, r
}

func testSeek(t *testing.T, s blob.Store) {
	b, r := seekBlob(t, s)
	n := int64(len(b))
	read := func(what string, want []byte) {
		t.Helper()
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("%s: reading %d bytes: %v", what, len(want), err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: read the wrong bytes", what)
		}
	}
	seek := func(off int64, whence int, want int64) {
		t.Helper()
		pos, err := r.Seek(off, whence)
		if err != nil || pos != want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", off, whence, pos, err, want)
		}
	}
	read("start", b[:100])
	seek(1000, io.SeekStart, 1000)
	read("after SeekStart", b[1000:1100])
	seek(5000, io.SeekCurrent, 6100)
	read("after SeekCurrent", b[6100:6200])
	seek(-10, io.SeekCurrent, 6190)
	read("after seeking back", b[6190:6300])
	seek(-7, io.SeekEnd, n-7)
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, b[n-7:]) {
		t.Fatalf("reading the last 7 bytes after SeekEnd: %d bytes, %v", len(rest), err)
	}
	seek(0, io.SeekStart, 0)
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, b) {
		t.Fatalf("reading all after seeking to the start: %d bytes, %v", len(all), err)
	}
	seek(n+10, io.SeekStart, n+10)
	if k, err := r.Read(make([]byte, 10)); k != 0 || err != io.EOF {
		t.Fatalf("Read past the end = %d, %v; want 0, io.EOF", k, err)
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Fatalf("Seek to a negative offset succeeded")
	}
}

func testReadAt(t *testing.T, s blob.Store) {
	b, r := seekBlob(t, s)
	n := int64(len(b))
	for _, c := range []struct{ off, len int64 }{{0, 10}, {1, 4096}, {n / 2, 70000}, {n - 1, 1}, {0, n}} {
		p := make([]byte, c.len)
		k, err := r.ReadAt(p, c.off)
		if k != len(p) || err != nil && err != io.EOF || !bytes.Equal(p, b[c.off:c.off+c.len]) {
			t.Errorf("ReadAt(%d bytes at %d) = %d, %v", c.len, c.off, k, err)
		}
	}
	// Across the end: the bytes there, and io.EOF.
	p := make([]byte, 20)
	if k, err := r.ReadAt(p, n-5); k != 5 || err != io.EOF || !bytes.Equal(p[:5], b[n-5:]) {
		t.Errorf("ReadAt(20 bytes at size-5) = %d, %v; want 5, io.EOF", k, err)
	}
	if k, err := r.ReadAt(p, n); k != 0 || err != io.EOF {
		t.Errorf("ReadAt at the size = %d, %v; want 0, io.EOF", k, err)
	}
	if _, err := r.ReadAt(p, -1); err == nil {
		t.Errorf("ReadAt at a negative offset succeeded")
	}
	// ReadAt does not move the offset Read uses.
	head := make([]byte, 50)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, b[:50]) {
		t.Errorf("Read after ReadAt: %v (or wrong bytes)", err)
	}
	// io.ReaderAt allows parallel calls on one reader.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			off := int64(i) * (n / 16)
			p := make([]byte, 3000)
			if k, err := r.ReadAt(p, off); k != len(p) || err != nil && err != io.EOF {
				errs <- fmt.Errorf("parallel ReadAt at %d: %d, %v", off, k, err)
			} else if !bytes.Equal(p, b[off:off+3000]) {
				errs <- errors.New("parallel ReadAt read the wrong bytes")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testOpenMissing(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	_, key := randomBlob(t, 10)
	checkAbsent(t, ctx, s, key)
}
