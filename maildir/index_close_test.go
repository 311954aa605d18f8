package maildir

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// TestCloseIndexLater: closing handles right after the index was
// written leaves the index for later; the Store's Close writes it, and
// a new process then sees the flag change with the same modseq the
// session saw.
func TestCloseIndexLater(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	c := context.Background()
	s := newTestStore(t, root, Options{})
	h1, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h1.Append(c, strings.NewReader("Subject: x\n\nbody\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	h2, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(root, indexFile)
	m, _ := s.box(store.Inbox)
	m.mu.Lock()
	m.writeIndexLocked(true)
	m.mu.Unlock()
	before, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h2.SetFlags(c, store.UIDSetOf(1), store.FlagsAdd, store.Flags{System: store.Seen}, 0); err != nil {
		t.Fatal(err)
	}
	h2.Close()
	if after, _ := os.ReadFile(index); !bytes.Equal(after, before) {
		t.Fatal("closing one of two handles rewrote the index written just before")
	}
	want, _ := fullListing(t, s)
	h1.Close()
	if after, _ := os.ReadFile(index); !bytes.Equal(after, before) {
		t.Fatal("closing the last handle rewrote the index written just before")
	}
	s.Close()
	if after, _ := os.ReadFile(index); bytes.Equal(after, before) {
		t.Fatal("closing the Store did not write the index")
	}
	backdate(t, root)
	s2, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, _ := fullListing(t, s2); got != want || !strings.Contains(got, "\\Seen") {
		t.Fatalf("another process sees\n%s\nthe session saw\n%s", got, want)
	}
}
