package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// backdate sets the mtimes of a folder's new/ and cur/ an hour back, as
// for a mailbox nothing touched lately.
func backdate(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, sub := range []string{"new", "cur"} {
		if err := os.Chtimes(filepath.Join(dir, sub), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// fullListing returns every field a session sees, one line per message.
func fullListing(t *testing.T, s *Store) (string, store.MailboxStatus) {
	t.Helper()
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	var b strings.Builder
	mb.Messages(c, nil, func(mi *store.MessageInfo) error {
		fmt.Fprintf(&b, "%d %v %v %d %d %s %d\n", mi.UID, mi.Flags.System.Names(), mi.Flags.Keywords, mi.ModSeq, mi.Size, mi.FileName, mi.InternalDate.UnixNano())
		return nil
	})
	st, _ := mb.Status(c)
	return b.String(), st
}

func fromIndex(t *testing.T, s *Store) bool {
	t.Helper()
	m, err := s.box(store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadedFromIndex
}

// TestOpenFromIndex: a folder whose directories and uidlist did not
// change since yubin-index was written is opened from the index alone,
// with exactly what a scan finds; any change on disk since (a flag
// changed by another program, a new file, a new uidlist, a crash after
// our own change) makes the open scan again.
func TestOpenFromIndex(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	c := context.Background()
	s := newTestStore(t, root, Options{})
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		opts := store.AppendOptions{InternalDate: time.Unix(1700000000+int64(i), 0)}
		if i%3 == 0 {
			opts.Flags = store.Flags{System: store.Seen, Keywords: []string{"$Important"}}
		}
		if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: %d\n\nbody %d\n", i, i)), opts); err != nil {
			t.Fatal(err)
		}
	}
	mb.Close()
	// Two messages delivered by someone else, one left in new/.
	writeFile(t, filepath.Join(root, "new", "1700000100.foreign1.host"), "Subject: f1\n\nx\n")
	writeFile(t, filepath.Join(root, "cur", "1700000101.foreign2.host:2,F"), "Subject: f2\n\ny\n")
	s.Close()
	backdate(t, root)

	reopen := func() *Store {
		s, err := Open(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The first open scans (and stamps the index), the second trusts it.
	s1 := reopen()
	want, wantSt := fullListing(t, s1)
	if fromIndex(t, s1) {
		t.Fatal("first open used an index that had no stamp")
	}
	s1.Close()
	s2 := reopen()
	got, gotSt := fullListing(t, s2)
	if !fromIndex(t, s2) {
		t.Fatal("unchanged folder was scanned again")
	}
	if got != want || gotSt != wantSt {
		t.Fatalf("from index:\n%s%+v\nscanned:\n%s%+v", got, gotSt, want, wantSt)
	}
	if strings.Count(got, "\n") != 22 {
		t.Fatalf("listing:\n%s", got)
	}
	s2.Close()

	var crashed *Store
	var crashedMb store.Mailbox
	defer func() {
		if crashed != nil {
			crashedMb.Close()
			crashed.Close()
		}
	}()
	changes := []struct {
		name   string
		change func()
		check  func(string) bool
	}{
		{"foreign flag change", func() {
			os.Rename(filepath.Join(root, "cur", "1700000101.foreign2.host:2,F"), filepath.Join(root, "cur", "1700000101.foreign2.host:2,FS"))
		}, func(l string) bool { return strings.Contains(l, "[\\Flagged \\Seen] [] ") }},
		{"foreign delivery", func() {
			writeFile(t, filepath.Join(root, "new", "1700000102.foreign3.host"), "Subject: f3\n\nz\n")
		}, func(l string) bool { return strings.Contains(l, "foreign3") }},
		{"uidlist rewritten", func() {
			data, _ := os.ReadFile(filepath.Join(root, "dovecot-uidlist"))
			os.Remove(filepath.Join(root, "dovecot-uidlist"))
			writeFile(t, filepath.Join(root, "dovecot-uidlist"), strings.Replace(string(data), "\n1 ", "\n100 ", 1))
		}, func(l string) bool { return strings.HasPrefix(l, "2 ") && strings.Contains(l, "\n100 ") }},
		{"own change then crash", func() {
			s := reopen() // never closed: the index is not rewritten
			mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := mb.SetFlags(c, store.UIDSetOf(2), store.FlagsAdd, store.Flags{System: store.Answered}, 0); err != nil {
				t.Fatal(err)
			}
			crashed, crashedMb = s, mb
		}, func(l string) bool { return strings.Contains("\n"+l, "\n2 [\\Answered] ") }},
	}
	for _, ch := range changes {
		// Stamp the index, then change the disk behind it.
		backdate(t, root)
		s := reopen()
		fullListing(t, s)
		s.Close()
		ch.change()
		s = reopen()
		got, _ := fullListing(t, s)
		if fromIndex(t, s) {
			t.Fatalf("%s: opened from a stale index", ch.name)
		}
		if !ch.check(got) {
			t.Fatalf("%s: listing:\n%s", ch.name, got)
		}
		s.Close()
	}
}
