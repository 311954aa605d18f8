package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

func newTestStore(t *testing.T, root string, opts Options) *Store {
	t.Helper()
	if root == "" {
		root = filepath.Join(t.TempDir(), "Maildir")
	}
	s, err := Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listing returns uid -> "flags|keywords" of a mailbox, read through a
// fresh read-only handle.
func listing(t *testing.T, s *Store, name string) map[uint32]string {
	t.Helper()
	mb, err := s.OpenMailbox(context.Background(), name, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	out := map[uint32]string{}
	mb.Messages(context.Background(), nil, func(mi *store.MessageInfo) error {
		out[mi.UID] = normFlags(append(mi.Flags.System.Names(), mi.Flags.Keywords...))
		return nil
	})
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenDovecotMaildir opens the Maildir our Dovecot experiments left
// (FORMATS.md 2): uidlist with appended records under an old N, keyword
// letters, third-party files, subscriptions in modified UTF-7, quota.
func TestGoldenDovecotMaildir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"cur", "new", "tmp", ".Sent", ".Archive.2024", ".Entw&APw-rfe"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	for _, f := range []string{"dovecot-uidlist", "dovecot-keywords", "subscriptions", "maildirsize"} {
		data, err := os.ReadFile(filepath.Join("testdata", "dovecot", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, f), string(data))
	}
	listingFile, err := os.Open(filepath.Join("testdata", "dovecot", "file-listing.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer listingFile.Close()
	sc := bufio.NewScanner(listingFile)
	for sc.Scan() {
		p := strings.TrimPrefix(sc.Text(), "./")
		if !strings.HasPrefix(p, "cur/") {
			continue
		}
		fn := parseFileName(filepath.Base(p))
		size := fn.Size
		if size < 0 {
			size = 30
		}
		writeFile(t, filepath.Join(root, p), strings.Repeat("x", int(size-1))+"\n")
	}
	s := newTestStore(t, root, Options{QuotaStorage: 10485760, QuotaMessages: 1000})
	got := listing(t, s, store.Inbox)
	want := map[uint32]string{
		1: `$important \seen`,
		2: `$label1 \answered \flagged nonjunk`,
		4: ``,
		5: `\flagged \seen nonjunk`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	st, _ := s.Status(context.Background(), store.Inbox)
	if st.UIDValidity != 1795325161 || st.UIDNext != 6 {
		t.Fatalf("status %+v", st)
	}
	subs, _ := s.Subscriptions(context.Background())
	if strings.Join(subs, ",") != "Sent,Archive/2024,Entwürfe" {
		t.Fatalf("subscriptions %q", subs)
	}
	names := map[string]bool{}
	list, _ := s.ListMailboxes(context.Background())
	for _, mi := range list {
		names[mi.Name] = true
	}
	if !names["Entwürfe"] || !names["Archive/2024"] || !names["Sent"] {
		t.Fatalf("mailboxes %v", list)
	}
	q, _ := s.Quota(context.Background())
	if q.StorageUsed != 163+87+22+87-22-87 || q.MessagesUsed != 2 || q.StorageLimit != 10485760 {
		t.Fatalf("quota %+v", q)
	}
}

func TestCorruptUIDList(t *testing.T) {
	c := context.Background()
	setup := func(t *testing.T) (string, uint32) {
		root := filepath.Join(t.TempDir(), "Maildir")
		s := newTestStore(t, root, Options{})
		mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
		for i := 0; i < 3; i++ {
			mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: %d\n\nx\n", i)), store.AppendOptions{Flags: store.Flags{System: store.Seen}})
		}
		st, _ := mb.Status(c)
		mb.Close()
		s.Close()
		return root, st.UIDValidity
	}
	ul := func(root string) string {
		b, _ := os.ReadFile(filepath.Join(root, "dovecot-uidlist"))
		return string(b)
	}
	t.Run("TruncatedLastLine", func(t *testing.T) {
		root, uv := setup(t)
		data := ul(root)
		writeFile(t, filepath.Join(root, "dovecot-uidlist"), data[:len(data)-5])
		s := newTestStore(t, root, Options{})
		st, _ := s.Status(c, store.Inbox)
		if st.UIDValidity != uv || st.Messages != 3 || st.UIDNext != 4 {
			t.Fatalf("status %+v (uidvalidity was %d)", st, uv)
		}
		if got := listing(t, s, store.Inbox); len(got) != 3 || got[1] == "" || got[2] == "" {
			t.Fatalf("listing %v", got)
		}
		if !strings.HasSuffix(ul(root), "\n") || strings.Count(ul(root), "\n") != 4 {
			t.Fatalf("uidlist not rewritten: %q", ul(root))
		}
	})
	for _, withIndex := range []bool{true, false} {
		t.Run(fmt.Sprintf("GarbageLine/index=%v", withIndex), func(t *testing.T) {
			root, uv := setup(t)
			lines := strings.SplitAfter(ul(root), "\n")
			lines[2] = "garbage \x00 here\n"
			writeFile(t, filepath.Join(root, "dovecot-uidlist"), strings.Join(lines, ""))
			if !withIndex {
				os.Remove(filepath.Join(root, indexFile))
			}
			s := newTestStore(t, root, Options{})
			got := listing(t, s, store.Inbox)
			st, _ := s.Status(c, store.Inbox)
			if st.UIDValidity != uv || len(got) != 3 {
				t.Fatalf("status %+v listing %v", st, got)
			}
			want := "1 3 4" // the message whose line was damaged gets a new UID
			if withIndex {
				want = "1 2 3" // yubin-index remembers it
			}
			var have []string
			for u := uint32(1); u <= 4; u++ {
				if _, ok := got[u]; ok {
					have = append(have, fmt.Sprint(u))
				}
			}
			if strings.Join(have, " ") != want {
				t.Fatalf("UIDs %v, want %s", have, want)
			}
		})
	}
	t.Run("BadHeaderWithIndex", func(t *testing.T) {
		root, uv := setup(t)
		writeFile(t, filepath.Join(root, "dovecot-uidlist"), "not a uidlist\n")
		s := newTestStore(t, root, Options{})
		st, _ := s.Status(c, store.Inbox)
		if st.UIDValidity != uv || st.Messages != 3 || st.UIDNext != 4 {
			t.Fatalf("status %+v (uidvalidity was %d): yubin-index should have kept the UIDs", st, uv)
		}
		if !strings.HasPrefix(ul(root), fmt.Sprintf("3 V%d N4 ", uv)) {
			t.Fatalf("uidlist %q", ul(root))
		}
	})
	t.Run("BadHeaderNoIndex", func(t *testing.T) {
		root, uv := setup(t)
		writeFile(t, filepath.Join(root, "dovecot-uidlist"), "3 Vnope\n")
		os.Remove(filepath.Join(root, indexFile))
		s := newTestStore(t, root, Options{})
		st, _ := s.Status(c, store.Inbox)
		if st.UIDValidity == uv || st.Messages != 3 {
			t.Fatalf("status %+v: a new UIDVALIDITY is required (old %d)", st, uv)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		root, uv := setup(t)
		os.Remove(filepath.Join(root, "dovecot-uidlist"))
		os.Remove(filepath.Join(root, indexFile))
		s := newTestStore(t, root, Options{})
		st, _ := s.Status(c, store.Inbox)
		if st.UIDValidity == uv || st.Messages != 3 || st.UIDNext != 4 {
			t.Fatalf("status %+v", st)
		}
	})
}

func TestForeignFilesAdopted(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	mb.Append(c, strings.NewReader("Subject: ours\n\n"), store.AppendOptions{})
	writeFile(t, filepath.Join(root, "dovecot-keywords"), "0 $Important\n1 NonJunk\n")
	writeFile(t, filepath.Join(root, "new", "1700000000.P1Q1.thirdparty"), "Subject: a\n\nbody\n")
	writeFile(t, filepath.Join(root, "cur", "strange name with spaces:2,FSb"), "Subject: b\r\n\r\nx\r\n")
	writeFile(t, filepath.Join(root, "cur", "plain"), "no header at all")
	writeFile(t, filepath.Join(root, "cur", ".hidden"), "ignored")
	var changes []store.Change
	deadline := time.Now().Add(5 * time.Second)
	for len(changes) < 3 && time.Now().Before(deadline) {
		ch, err := mb.Poll(c)
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, ch...)
		time.Sleep(10 * time.Millisecond)
	}
	if len(changes) != 3 {
		t.Fatalf("changes %+v", changes)
	}
	byName := map[string]store.MessageInfo{}
	for _, ch := range changes {
		if ch.Kind != store.ChangeNew || ch.UID < 2 {
			t.Fatalf("change %+v", ch)
		}
		byName[ch.Message.FileName] = ch.Message
	}
	a := byName["1700000000.P1Q1.thirdparty"]
	if a.Size != int64(len("Subject: a\r\n\r\nbody\r\n")) || a.Flags.System != 0 || !a.Recent {
		t.Fatalf("thirdparty: %+v", a)
	}
	b := byName["strange name with spaces"]
	if b.Flags.System != store.Flagged|store.Seen || normFlags(b.Flags.Keywords) != "nonjunk" || b.Size != 17 {
		t.Fatalf("strange: %+v", b)
	}
	if _, ok := byName["plain"]; !ok {
		t.Fatalf("plain not adopted: %v", byName)
	}
	r, err := mb.Open(c, a.UID)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	// The first read-write session moved the new/ file to cur/.
	if _, err := os.Stat(filepath.Join(root, "cur", "1700000000.P1Q1.thirdparty:2,")); err != nil {
		t.Fatalf("not moved to cur/: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(root, "dovecot-uidlist"))
	if !strings.Contains(string(data), ":1700000000.P1Q1.thirdparty\n") || !strings.Contains(string(data), ":strange name with spaces\n") {
		t.Fatalf("uidlist %q", data)
	}
}

func TestMissingTmpRecreated(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	c := context.Background()
	mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb.Close()
	if err := os.RemoveAll(filepath.Join(root, "tmp")); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Append(c, strings.NewReader("Subject: x\n\n"), store.AppendOptions{}); err != nil {
		t.Fatalf("append without tmp/: %v", err)
	}
	os.RemoveAll(filepath.Join(root, "tmp"))
	os.RemoveAll(filepath.Join(root, "new"))
	s2 := newTestStore(t, root, Options{})
	if _, err := s2.Status(c, store.Inbox); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"tmp", "new", "cur"} {
		if !isDir(filepath.Join(root, d)) {
			t.Fatalf("%s/ not recreated", d)
		}
	}
}

// Temporary files a crash left in a folder (a lock being linked, a
// rewrite being renamed) are removed after 36 h, as tmp/'s are; files
// that only look alike are kept.
func TestCrashLeftoversRemoved(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	os.MkdirAll(root, 0o700)
	old := time.Now().Add(-37 * time.Hour)
	files := map[string]bool{ // name: removed
		"dovecot-uidlist.lock.1234.5.tmp": true,
		"yubin-index.1234.6.tmp":          true,
		"dovecot-keywords.77.1.tmp":       true,
		"notes.1.2.tmp":                   false,
		"dovecot-uidlist.x.1.tmp":         false,
		"dovecot-uidlist.lock.1.2.tmp~":   false,
	}
	for f := range files {
		writeFile(t, filepath.Join(root, f), "x")
		os.Chtimes(filepath.Join(root, f), old, old)
	}
	writeFile(t, filepath.Join(root, "subscriptions.9.9.tmp"), "recent")
	files["subscriptions.9.9.tmp"] = false
	s := newTestStore(t, root, Options{})
	if _, err := s.Status(context.Background(), store.Inbox); err != nil {
		t.Fatal(err)
	}
	for f, removed := range files {
		_, err := os.Stat(filepath.Join(root, f))
		if gone := errors.Is(err, os.ErrNotExist); gone != removed {
			t.Errorf("%s: removed %v, want %v", f, gone, removed)
		}
	}
}

func TestStaleLock(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	c := context.Background()
	s := newTestStore(t, root, Options{StaleLockTimeout: time.Second, LockTimeout: 5 * time.Second})
	mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb.Close()
	lock := filepath.Join(root, "dovecot-uidlist.lock")
	// Held by a live process on another host: only age makes it stale.
	writeFile(t, lock, "1:otherhost")
	old := time.Now().Add(-2 * time.Second)
	os.Chtimes(lock, old, old)
	start := time.Now()
	if _, err := mb.Append(c, strings.NewReader("Subject: x\n\n"), store.AppendOptions{}); err != nil {
		t.Fatalf("append with stale lock: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("stale lock not broken promptly")
	}
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("lock left behind")
	}
	// A fresh lock is respected until LockTimeout.
	s2 := newTestStore(t, root, Options{StaleLockTimeout: time.Minute, LockTimeout: 300 * time.Millisecond})
	mb2, _ := s2.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb2.Close()
	writeFile(t, lock, "1:otherhost")
	if _, err := mb2.Append(c, strings.NewReader("Subject: y\n\n"), store.AppendOptions{}); !errors.Is(err, store.ErrTemporary) {
		t.Fatalf("append under a fresh lock: %v", err)
	}
	// A lock naming a dead process on this host is stale at once.
	writeFile(t, lock, fmt.Sprintf("%d:%s", 1<<22+12345, s2.host))
	if _, err := mb2.Append(c, strings.NewReader("Subject: z\n\n"), store.AppendOptions{}); err != nil {
		t.Fatalf("append with a dead owner's lock: %v", err)
	}
	// An empty lock (its writer died between create and write) is
	// respected only for a short grace, not for StaleLockTimeout.
	writeFile(t, lock, "")
	if _, err := mb2.Append(c, strings.NewReader("Subject: e\n\n"), store.AppendOptions{}); !errors.Is(err, store.ErrTemporary) {
		t.Fatalf("append under a fresh empty lock: %v", err)
	}
	old = time.Now().Add(-2 * emptyLockGrace)
	os.Chtimes(lock, old, old)
	if _, err := mb2.Append(c, strings.NewReader("Subject: e\n\n"), store.AppendOptions{}); err != nil {
		t.Fatalf("append with an old empty lock: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(root, "tmp")); len(left) != 0 {
		t.Fatalf("tmp/ not cleaned after a failed append: %v", left)
	}
	// Our own locks leave nothing behind once the stores are closed
	// (while open, each keeps its lock sources).
	s.Close()
	s2.Close()
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") || strings.HasSuffix(e.Name(), ".lock") {
			t.Fatalf("left in the folder: %s", e.Name())
		}
	}
}
