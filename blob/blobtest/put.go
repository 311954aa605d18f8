package blobtest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/yubinmail/yubin/blob"
)

func testPutExisting(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	b, key := randomBlob(t, 5000)
	put(t, ctx, s, key, b)
	put(t, ctx, s, key, b)
	// Keys name content, so a second Put brings the same bytes; a store
	// keeps what it has. Other bytes show whether it did.
	other, _ := randomBlob(t, len(b))
	put(t, ctx, s, key, other)
	checkStored(t, ctx, s, key, b)
	n := 0
	for _, in := range list(t, ctx, s) {
		if in.Key == key {
			n++
		}
	}
	if n != 1 {
		t.Errorf("List names the key %d times after three Puts, want 1", n)
	}
}

func testPutShort(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	for _, n := range []int{1, 4096, 1 << 20} {
		b, key := randomBlob(t, n)
		if err := s.Put(ctx, key, bytes.NewReader(b[:n-1]), int64(n)); err == nil {
			t.Errorf("Put of %d bytes from a reader of %d succeeded", n, n-1)
		}
		checkAbsent(t, ctx, s, key)
	}
}

func testPutLong(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	for _, n := range []int{0, 1, 4096, 1 << 20} {
		b, _ := randomBlob(t, n+1)
		key := blob.Key(b[:n])
		if err := s.Put(ctx, key, bytes.NewReader(b), int64(n)); err == nil {
			t.Errorf("Put of %d bytes from a reader of %d succeeded", n, n+1)
		}
		checkAbsent(t, ctx, s, key)
	}
}

// errReader is the error failingReader returns.
var errReader = errors.New("blobtest: reader failed on purpose")

// failingReader yields n bytes of b, then errReader.
type failingReader struct {
	b []byte
	n int
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errReader
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b, r.n = r.b[k:], r.n-k
	return k, nil
}

func testPutFailing(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	b, key := randomBlob(t, 100000)
	err := s.Put(ctx, key, &failingReader{b: b, n: 50000}, int64(len(b)))
	if err == nil {
		t.Fatalf("Put from a reader that fails succeeded")
	}
	if !errors.Is(err, errReader) {
		// Not required (an HTTP client may report the aborted request
		// instead), but say so: the reader's error is the useful one.
		t.Logf("Put from a failing reader returned %v, not wrapping the reader's error", err)
	}
	checkAbsent(t, ctx, s, key)
	// The key is still usable.
	put(t, ctx, s, key, b)
	checkStored(t, ctx, s, key, b)
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := testContext(t)
	b, key := randomBlob(t, 3000)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a key never stored: %v", err)
	}
	keep, keepKey := randomBlob(t, 10)
	put(t, ctx, s, keepKey, keep)
	put(t, ctx, s, key, b)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkAbsent(t, ctx, s, key)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a deleted key: %v", err)
	}
	checkStored(t, ctx, s, keepKey, keep)
	// Put after Delete stores the blob again.
	put(t, ctx, s, key, b)
	checkStored(t, ctx, s, key, b)
}
