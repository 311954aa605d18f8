package pgstore_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/pgstore"
)

// TestBlobStoreContract checks the default blob store against the
// blob.Store contract: a short or long reader stores nothing, a second
// Put of a key succeeds, Open of a missing key wraps blob.ErrNotFound,
// readers seek and ReadAt across chunks, Delete of a missing key is no
// error, List sees what is stored.
func TestBlobStoreContract(t *testing.T) {
	b := openBackend(t, newDB(t), pgstore.Options{})
	bs := pgstore.NewBlobStore(b.Pool())
	data := bytes.Repeat([]byte("0123456789"), 60000) // 600,000 bytes: three chunks
	key := blob.Key(data)
	if err := bs.Put(bg(t), key, bytes.NewReader(data[:1000]), int64(len(data))); err == nil {
		t.Fatal("Put of a short reader succeeded")
	}
	if err := bs.Put(bg(t), key, io.MultiReader(bytes.NewReader(data), strings.NewReader("x")), int64(len(data))); err == nil {
		t.Fatal("Put of a long reader succeeded")
	}
	if _, err := bs.Open(bg(t), key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after failed Puts: %v", err)
	}
	if err := bs.Put(bg(t), "../etc/passwd", bytes.NewReader(nil), 0); err == nil {
		t.Fatal("invalid key accepted")
	}
	for i := 0; i < 2; i++ {
		if err := bs.Put(bg(t), key, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	r, err := bs.Open(bg(t), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != int64(len(data)) {
		t.Fatalf("size %d", r.Size())
	}
	buf := make([]byte, 300000)
	if n, err := r.ReadAt(buf, 200000); err != nil || n != len(buf) || !bytes.Equal(buf, data[200000:500000]) {
		t.Fatalf("ReadAt across chunks: %d %v", n, err)
	}
	if _, err := r.Seek(-10, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if tail, _ := io.ReadAll(r); !bytes.Equal(tail, data[len(data)-10:]) {
		t.Fatalf("tail %q", tail)
	}
	r.Seek(0, io.SeekStart)
	if all, _ := io.ReadAll(r); !bytes.Equal(all, data) {
		t.Fatal("whole read differs")
	}
	var listed []blob.Info
	bs.List(bg(t), func(bi blob.Info) error { listed = append(listed, bi); return nil })
	if len(listed) != 1 || listed[0].Key != key || listed[0].Size != int64(len(data)) || listed[0].Created.IsZero() {
		t.Fatalf("List %+v", listed)
	}
	if err := bs.Delete(bg(t), key); err != nil {
		t.Fatal(err)
	}
	if err := bs.Delete(bg(t), key); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := bs.Open(bg(t), key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
}
