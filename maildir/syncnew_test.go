package maildir

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestSyncNewOnly checks the sync that lists new/ alone while cur/ is
// unchanged: another program's delivery into new/ gets a UID without a
// listing of cur/; a message that vanished from new/, or a change in
// cur/, makes the sync list both directories and sees it; a copy of a
// cur/ message put into new/ gets no second UID.
func TestSyncNewOnly(t *testing.T) {
	const n = 50
	root := makeBigMaildir(t, n)
	ctx := context.Background()
	s, err := Open(root, Options{NoInotify: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	m := mb.(*handle).m
	count := func() int {
		t.Helper()
		if _, err := mb.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := mb.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(st.Messages)
	}
	if got := count(); got != n {
		t.Fatalf("%d messages, want %d", got, n)
	}
	// Age cur/ again: the first sync of the Store counts as a listing
	// made now.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, "cur"), old, old)
	m.mu.Lock()
	m.curStamp = dirStamp{mtime: old.UnixNano(), scanned: time.Now().UnixNano()}
	m.mu.Unlock()
	full := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.fullScans
	}
	scans := full()

	// Another program delivers into new/.
	deliver := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, "new", name), []byte("Subject: new\n\nx\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deliver("1800000000.M1P1.other")
	deliver("1800000000.M2P1.other")
	if got := count(); got != n+2 {
		t.Fatalf("after two deliveries: %d messages, want %d", got, n+2)
	}
	if got := full(); got != scans {
		t.Errorf("a delivery into new/ made the sync list cur/ (%d full listings, was %d)", got, scans)
	}
	var uids []uint32
	mb.Messages(ctx, nil, func(mi *store.MessageInfo) error { uids = append(uids, mi.UID); return nil })
	if uids[len(uids)-1] != n+2 || uids[len(uids)-2] != n+1 {
		t.Errorf("new messages got UIDs %v, want %d and %d", uids[len(uids)-2:], n+1, n+2)
	}

	// A copy of a cur/ message put into new/: no second UID.
	curFiles, _ := filepath.Glob(filepath.Join(root, "cur", "*"))
	data, err := os.ReadFile(curFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	base, _, _ := strings.Cut(filepath.Base(curFiles[0]), ":")
	if err := os.WriteFile(filepath.Join(root, "new", base), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != n+2 {
		t.Errorf("a copy of a cur/ message in new/: %d messages, want %d", got, n+2)
	}
	os.Remove(filepath.Join(root, "new", base))

	// One of the delivered messages vanishes from new/: both listed.
	if err := os.Remove(filepath.Join(root, "new", "1800000000.M1P1.other")); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != n+1 {
		t.Fatalf("after a removal from new/: %d messages, want %d", got, n+1)
	}
	if got := full(); got == scans {
		t.Error("a message gone from new/ did not make the sync list both directories")
	}

	// A change in cur/ (another program sets a flag): both listed.
	scans = full()
	m.mu.Lock()
	m.curStamp = dirStamp{mtime: old.UnixNano(), scanned: time.Now().UnixNano()}
	m.mu.Unlock()
	os.Chtimes(filepath.Join(root, "cur"), old, old)
	flaggedSeen := func() int {
		k := 0
		mb.Messages(ctx, nil, func(mi *store.MessageInfo) error {
			if mi.Flags.System&store.Flagged != 0 && mi.Flags.System&store.Seen != 0 {
				k++
			}
			return nil
		})
		return k
	}
	before := flaggedSeen()
	var from string
	for _, f := range curFiles {
		if strings.HasSuffix(f, ":2,") {
			from = f
			break
		}
	}
	if err := os.Rename(from, from+"FS"); err != nil {
		t.Fatal(err)
	}
	count()
	if got := full(); got == scans {
		t.Error("a rename in cur/ did not make the sync list it")
	}
	if got := flaggedSeen(); got != before+1 {
		t.Errorf("flagged and seen messages: %d, want %d: the flags set by another program were not seen", got, before+1)
	}
}
