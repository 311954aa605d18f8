package prefixread_test

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/prefixread"
)

func Example() {
	r := prefixread.New("Delivered-To: bob@example.jp\r\n", strings.NewReader("Subject: hi\r\n\r\nbody\r\n"))
	var b bytes.Buffer
	io.Copy(&b, r)
	fmt.Printf("%q\n", b.String())
	// Output: "Delivered-To: bob@example.jp\r\nSubject: hi\r\n\r\nbody\r\n"
}

// TestReadAndWriteToAgree: read in small pieces, or copied with WriteTo
// after part of the prefix was read, the prefix and the rest come out
// whole and in order.
func TestReadAndWriteToAgree(t *testing.T) {
	rest := strings.Repeat("0123456789", 10000)
	want := "Return-Path: <>\r\n" + rest
	got, err := io.ReadAll(io.LimitReader(struct{ io.Reader }{prefixread.New("Return-Path: <>\r\n", strings.NewReader(rest))}, 1<<20))
	if err != nil || string(got) != want {
		t.Fatalf("Read: %d bytes, %v", len(got), err)
	}
	r := prefixread.New("Return-Path: <>\r\n", strings.NewReader(rest))
	head := make([]byte, 5)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	n, err := r.WriteTo(&b)
	if err != nil || string(head)+b.String() != want || n != int64(len(want)-5) {
		t.Fatalf("WriteTo: %d bytes, %v", n, err)
	}
}

// TestWriteToAllocatesNoBuffer: a copy allocates no 32 KiB buffer
// (io.MultiReader's WriteTo does, every call).
func TestWriteToAllocatesNoBuffer(t *testing.T) {
	body := strings.Repeat("x", 100<<10)
	w := struct{ io.Writer }{io.Discard} // no ReaderFrom of its own
	perCopy := func(copy1 func(*strings.Reader)) uint64 {
		var sr strings.Reader
		copy1(&sr) // the pool's first buffer
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			sr.Reset(body)
			copy1(&sr)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / 100
	}
	ours := perCopy(func(sr *strings.Reader) { prefixread.New("Delivered-To: a@b\r\n", sr).WriteTo(w) })
	multi := perCopy(func(sr *strings.Reader) {
		io.MultiReader(strings.NewReader("Delivered-To: a@b\r\n"), sr).(io.WriterTo).WriteTo(w)
	})
	t.Logf("bytes allocated per copy: %d (io.MultiReader: %d)", ours, multi)
	// Under the race detector sync.Pool drops a quarter of what is put
	// back, so a buffer is made now and then: 8 KiB a copy on average,
	// where a 32 KiB buffer per copy would be 32 KiB.
	if ours >= 16<<10 {
		t.Errorf("%d bytes allocated per copy", ours)
	}
}
