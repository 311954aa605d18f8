package maildir

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestDeliverWritesUnnamedFile checks that a delivery in progress has no
// name in tmp/ (it writes an O_TMPFILE file) and that the message
// arrives whole.
func TestDeliverWritesUnnamedFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	ctx := context.Background()
	pr, pw := io.Pipe()
	type result struct {
		res store.AppendResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := s.Deliver(ctx, store.Inbox, pr, store.AppendOptions{})
		done <- result{res, err}
	}()
	io.WriteString(pw, "Subject: half\n\n")
	time.Sleep(50 * time.Millisecond) // let the delivery write into its file
	if s.noTmpfile.Load() {
		t.Skip("no O_TMPFILE on this file system")
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ holds %d named files during a delivery", len(ents))
	}
	io.WriteString(pw, "body\n")
	pw.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := readMessage(t, s, r.res.UID); got != "Subject: half\n\nbody\n" {
		t.Errorf("delivered %q", got)
	}

	// A delivery cut short leaves nothing anywhere.
	pr, pw = io.Pipe()
	go func() {
		_, err := s.Deliver(ctx, store.Inbox, pr, store.AppendOptions{})
		done <- result{err: err}
	}()
	io.WriteString(pw, "Subject: cut\n\n")
	pw.CloseWithError(io.ErrUnexpectedEOF)
	if r := <-done; r.err == nil {
		t.Fatal("a delivery whose reader failed succeeded")
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(root, sub))
		if want := map[string]int{"new": 1}[sub]; len(ents) != want {
			t.Errorf("%s/ holds %d files, want %d", sub, len(ents), want)
		}
	}
}

// TestDeliverLinkFallback makes the link of an unnamed file fail, as it
// does without /proc: the delivery still succeeds through a named copy,
// with its internal date, and the Store writes named files from then on.
func TestDeliverLinkFallback(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	ctx := context.Background()
	s.linkTmpfile = func(f *os.File, to string) error {
		return &os.LinkError{Op: "linkat", Old: f.Name(), New: to, Err: syscall.ENOENT}
	}
	date := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	res, err := s.Deliver(ctx, store.Inbox, strings.NewReader("Subject: one\n\nx\n"), store.AppendOptions{InternalDate: date})
	if err != nil {
		t.Fatal(err)
	}
	if !s.noTmpfile.Load() {
		t.Skip("no O_TMPFILE on this file system: nothing to fall back from")
	}
	res2, err := s.Deliver(ctx, store.Inbox, strings.NewReader("Subject: two\n\ny\n"), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readMessage(t, s, res.UID); got != "Subject: one\n\nx\n" {
		t.Errorf("first message %q", got)
	}
	if got := readMessage(t, s, res2.UID); got != "Subject: two\n\ny\n" {
		t.Errorf("second message %q", got)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "new"))
	for _, e := range ents {
		fi, _ := e.Info()
		if fi != nil && fi.ModTime().Equal(date) {
			return
		}
	}
	t.Error("no file in new/ kept the internal date given")
}

// readMessage returns message uid of INBOX.
func readMessage(t *testing.T, s *Store, uid uint32) string {
	t.Helper()
	ctx := context.Background()
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	r, err := mb.Open(ctx, uid)
	if err != nil {
		t.Fatalf("open UID %d: %v", uid, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
