package maildir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// TestMessageFileReader checks the descriptor-based reader Open returns:
// Read to EOF, ReadAt at any offset (not moving Read's offset), Seek
// from each origin, Size, and Close (once; reads after it fail).
func TestMessageFileReader(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "Maildir"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	body := "Subject: x\n\n" + strings.Repeat("0123456789abcdef\n", 3000)
	res, err := mb.Append(ctx, strings.NewReader(body), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := mb.Open(ctx, res.UID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(body)) {
		t.Errorf("Size = %d, want %d", r.Size(), len(body))
	}
	// Small reads, so that several are needed.
	var got bytes.Buffer
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{r}, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if got.String() != body {
		t.Fatalf("Read gave %d bytes, not the message", got.Len())
	}
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v; want 0, EOF", n, err)
	}
	p := make([]byte, 17)
	if n, err := r.ReadAt(p, 12+17*5); n != 17 || err != nil || string(p) != "0123456789abcdef\n" {
		t.Errorf("ReadAt = %d, %v, %q", n, err, p)
	}
	if n, err := r.ReadAt(p, int64(len(body))-5); n != 5 || err != io.EOF {
		t.Errorf("ReadAt across the end = %d, %v; want 5, EOF", n, err)
	}
	if pos, err := r.Seek(3, io.SeekStart); pos != 3 || err != nil {
		t.Fatalf("Seek(3, SeekStart) = %d, %v", pos, err)
	}
	if pos, err := r.Seek(9, io.SeekCurrent); pos != 12 || err != nil {
		t.Fatalf("Seek(9, SeekCurrent) = %d, %v", pos, err)
	}
	if rest, err := io.ReadAll(r); err != nil || string(rest) != body[12:] {
		t.Errorf("after Seek to 12: %d bytes, %v", len(rest), err)
	}
	if pos, err := r.Seek(-17, io.SeekEnd); pos != int64(len(body))-17 || err != nil {
		t.Fatalf("Seek(-17, SeekEnd) = %d, %v", pos, err)
	}
	if rest, err := io.ReadAll(r); err != nil || string(rest) != body[len(body)-17:] {
		t.Errorf("after Seek(-17, SeekEnd): %q, %v", rest, err)
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to a negative offset worked")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err == nil {
		t.Error("second Close did not fail")
	}
	if _, err := r.Read(p); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if _, err := r.ReadAt(p, 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadAt after Close: %v", err)
	}
}
