package maildir

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// TestCopyMoveKeepGUID: a message copied or moved into another folder
// keeps its base name, so its GUID (IMAP's EMAILID) is the same as the
// source's (RFC 8474 5.1); a second copy into the same folder, and a copy
// within one folder, get names of their own, and every copy stays
// readable after the store is reopened.
func TestCopyMoveKeepGUID(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	c := context.Background()
	for _, name := range []string{"Archive", "Later"} {
		if err := s.CreateMailbox(c, name, store.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	in, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	a, err := in.Append(c, strings.NewReader("Subject: keep me\r\n\r\nbody\r\n"), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := in.Append(c, strings.NewReader("Subject: move me\r\n\r\nbody\r\n"), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	guids := func(mb store.Mailbox) map[uint32]string {
		t.Helper()
		out := map[uint32]string{}
		if err := mb.Messages(c, nil, func(m *store.MessageInfo) error {
			out[m.UID] = m.GUID
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	src := guids(in)

	cp, err := in.Copy(c, store.UIDSetOf(a.UID), "Archive")
	if err != nil {
		t.Fatal(err)
	}
	again, err := in.Copy(c, store.UIDSetOf(a.UID), "Archive")
	if err != nil {
		t.Fatal(err)
	}
	self, err := in.Copy(c, store.UIDSetOf(a.UID), store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := in.Move(c, store.UIDSetOf(b.UID), "Later")
	if err != nil {
		t.Fatal(err)
	}

	arch, err := s.OpenMailbox(c, "Archive", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	later, err := s.OpenMailbox(c, "Later", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	ag, lg, ig := guids(arch), guids(later), guids(in)
	if got := ag[cp.DestUIDs[0]]; got != src[a.UID] {
		t.Errorf("COPY: destination GUID %q, source %q", got, src[a.UID])
	}
	if got := lg[mv.DestUIDs[0]]; got != src[b.UID] {
		t.Errorf("MOVE: destination GUID %q, source %q", got, src[b.UID])
	}
	if got := ag[again.DestUIDs[0]]; got == "" || got == src[a.UID] {
		t.Errorf("second COPY into the same folder reused the base name %q", got)
	}
	if got := ig[self.DestUIDs[0]]; got == "" || got == src[a.UID] {
		t.Errorf("COPY within INBOX reused the base name %q", got)
	}

	// A fresh store sees the same messages under the same names.
	s2 := newTestStore(t, root, Options{})
	arch2, err := s2.OpenMailbox(c, "Archive", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer arch2.Close()
	if got := guids(arch2); len(got) != 2 || got[cp.DestUIDs[0]] != src[a.UID] {
		t.Errorf("after reopening, Archive holds %v", got)
	}
	r, err := arch2.Open(c, cp.DestUIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}
