package sdbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// listInfos returns the MessageInfo of every message of INBOX, as a new
// Store opened on root sees them.
func listInfos(t *testing.T, root string) map[uint32]store.MessageInfo {
	t.Helper()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	out := map[uint32]store.MessageInfo{}
	mb.Messages(c, nil, func(mi *store.MessageInfo) error {
		c := *mi
		c.Flags.Keywords = nil
		out[mi.UID] = c
		return nil
	})
	return out
}

// appendN appends n messages with distinct dates to INBOX.
func appendN(t *testing.T, root string, n int) {
	t.Helper()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := context.Background()
	mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb.Close()
	for i := range n {
		body := fmt.Sprintf("Subject: m%d\n\n%s\n", i, strings.Repeat("x", i))
		if _, err := mb.Append(c, strings.NewReader(body), store.AppendOptions{InternalDate: time.Unix(1700000000+int64(i)*3600, 0)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMetaCacheListing: the first listing by a new Store writes
// yubin-meta; the next new Store lists the same dates, sizes and GUIDs
// from it without reading the message files (a message file whose R
// line was changed afterwards still lists the cached date), and reads
// the files of messages added since.
func TestMetaCacheListing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	appendN(t, root, 50)
	md := filepath.Join(root, "mailboxes", "INBOX", "dbox-Mails")
	if _, err := os.Stat(filepath.Join(md, metaCacheName)); err == nil {
		t.Fatal("a cache before any listing by a new Store")
	}
	first := listInfos(t, root)
	if len(first) != 50 {
		t.Fatalf("%d messages", len(first))
	}
	fi, err := os.Stat(filepath.Join(md, metaCacheName))
	if err != nil || fi.Size() != metaCacheHdr+50*metaCacheRec {
		t.Fatalf("cache: %v, %v", fi, err)
	}
	// Change u.7's received date in the file: the cache is trusted.
	u7 := filepath.Join(md, "u.7")
	b, _ := os.ReadFile(u7)
	want7 := first[7].InternalDate
	r := fmt.Sprintf("\nR%x\n", want7.Unix())
	if !strings.Contains(string(b), r) {
		t.Fatalf("no %q in u.7", r)
	}
	os.WriteFile(u7, []byte(strings.Replace(string(b), r, fmt.Sprintf("\nR%x\n", want7.Unix()+1), 1)), 0o600)
	appendN(t, root, 5)
	second := listInfos(t, root)
	if len(second) != 55 {
		t.Fatalf("%d messages", len(second))
	}
	for uid, w := range first {
		g := second[uid]
		if !g.InternalDate.Equal(w.InternalDate) || g.Size != w.Size || g.GUID != w.GUID || !g.SaveDate.Equal(w.SaveDate) {
			t.Errorf("UID %d: %+v, first listing %+v", uid, g, w)
		}
	}
	for uid := uint32(51); uid <= 55; uid++ {
		if g := second[uid]; g.GUID == "" || g.Size == 0 || g.InternalDate.IsZero() {
			t.Errorf("new UID %d: %+v", uid, g)
		}
	}
	fi, _ = os.Stat(filepath.Join(md, metaCacheName))
	if fi.Size() != metaCacheHdr+55*metaCacheRec {
		t.Errorf("cache of %d bytes after 55 messages", fi.Size())
	}
}

// TestMetaCacheDamaged: a cache cut in the middle of a record, with a
// flipped byte, of another UIDVALIDITY or full of garbage lists the
// same messages as the files say.
func TestMetaCacheDamaged(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	appendN(t, root, 20)
	want := listInfos(t, root)
	path := filepath.Join(root, "mailboxes", "INBOX", "dbox-Mails", metaCacheName)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[metaCacheHdr+5*metaCacheRec+9] ^= 0x40 // UID 6's date
	otherUV := append([]byte(nil), good...)
	otherUV[12]++
	for name, b := range map[string][]byte{
		"torn":     good[:metaCacheHdr+10*metaCacheRec+17],
		"flipped":  flipped,
		"otheruv":  otherUV,
		"garbage":  []byte(strings.Repeat("\xff", 5000)),
		"empty":    nil,
		"hdr-only": good[:metaCacheHdr],
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got := listInfos(t, root)
		for uid, w := range want {
			g := got[uid]
			if !g.InternalDate.Equal(w.InternalDate) || g.Size != w.Size || g.GUID != w.GUID {
				t.Errorf("%s: UID %d: %+v, want %+v", name, uid, g, w)
			}
		}
	}
}

// TestTempFilesCleaned: a .temp file left by a crash more than 36 hours
// ago (Dovecot's limit) is removed when the mailbox is opened; a recent
// one (perhaps still being written) and other files stay.
func TestTempFilesCleaned(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	appendN(t, root, 1)
	md := filepath.Join(root, "mailboxes", "INBOX", "dbox-Mails")
	old := filepath.Join(md, ".temp.host.123.456.7")
	oldMeta := filepath.Join(md, metaCacheName+".123.4.tmp")
	recent := filepath.Join(md, ".temp.host.123.456.8")
	for _, p := range []string{old, oldMeta, recent} {
		os.WriteFile(p, []byte("partial"), 0o600)
	}
	past := time.Now().Add(-37 * time.Hour)
	os.Chtimes(old, past, past)
	os.Chtimes(oldMeta, past, past)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := os.Stat(old)
		_, err2 := os.Stat(oldMeta)
		if os.IsNotExist(err) && os.IsNotExist(err2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("old temp file not removed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(oldMeta); !os.IsNotExist(err) {
		t.Errorf("old yubin-meta temp file: %v", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent temp file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(md, "u.1")); err != nil {
		t.Errorf("u.1: %v", err)
	}
}

// TestDovecotWithMetaCache: with yubin's cache in the mailbox, Dovecot
// fetches and force-resyncs it without an error; after Dovecot saved
// a message and expunged one, a new yubin Store lists what doveadm
// fetch lists (UIDs, flags, GUIDs, bytes), the saved message's facts
// read from its file, and doveadm fetch date.received agrees with
// yubin's internal dates.
func TestDovecotWithMetaCache(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	appendN(t, root, 30)
	listInfos(t, root) // writes the cache
	md := filepath.Join(root, "mailboxes", "INBOX", "dbox-Mails")
	if _, err := os.Stat(filepath.Join(md, metaCacheName)); err != nil {
		t.Fatal(err)
	}
	// force-resync rebuilds the index (it says so as a warning) and
	// must not trip over the cache.
	d.Doveadm(t, nil, "force-resync", "-u", "alice", "INBOX")
	doveadm(t, d, "mailbox", "status", "-u", "alice", "messages", "INBOX")
	d.Doveadm(t, []byte("From: dovecot@example.org\nSubject: from dovecot\n\nhello\n"), "save", "-u", "alice")
	doveadm(t, d, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", "3")
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	compareMessages(t, "yubin with its cache after Dovecot's changes", doveadmFetch(t, d, store.Inbox, true), yubinFetch(t, s, store.Inbox, true))
	got := listInfos(t, root)
	out := doveadm(t, d, "-f", "tab", "fetch", "-u", "alice", "uid date.received", "mailbox", "INBOX")
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		var uid uint32
		var date string
		f := strings.SplitN(l, "\t", 2)
		if len(f) != 2 {
			continue
		}
		fmt.Sscan(f[0], &uid)
		date = f[1]
		when, err := time.ParseInLocation("2006-01-02 15:04:05", date, time.Local)
		if err != nil {
			t.Fatalf("date.received %q: %v", date, err)
		}
		if g, ok := got[uid]; !ok || !g.InternalDate.Equal(when) {
			t.Errorf("UID %d: Dovecot's date.received %s, yubin %v", uid, when, g.InternalDate)
		}
		n++
	}
	if n != 30 {
		t.Errorf("%d messages compared", n)
	}
	if log, _ := readFileString(d.Log); strings.Contains(log, "Error") || strings.Contains(log, "orrupt") {
		t.Errorf("dovecot log reports errors:\n%s", log)
	}
}

// TestDovecotDeletesMailboxWithMetaCache: a mailbox holding yubin-meta
// is deleted by doveadm without complaint,
// its directory gone.
func TestDovecotDeletesMailboxWithMetaCache(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	c := context.Background()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateMailbox(c, "Old", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mb, _ := s.OpenMailbox(c, "Old", store.OpenOptions{})
	mb.Append(c, strings.NewReader("Subject: x\r\n\r\ny\r\n"), store.AppendOptions{})
	mb.Messages(c, nil, func(*store.MessageInfo) error { return nil })
	mb.Close()
	dir := filepath.Join(root, "mailboxes", "Old")
	if _, err := os.Stat(filepath.Join(dir, "dbox-Mails", metaCacheName)); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	doveadm(t, d, "mailbox", "delete", "-u", "alice", "Old")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(filepath.Join(dir, "dbox-Mails"))
		t.Errorf("mailbox directory left after doveadm mailbox delete: %v %v", err, entries)
	}
}
