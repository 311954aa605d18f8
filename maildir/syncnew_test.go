package maildir

import (
	"context"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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
	mb, m := watchlessInbox(t, root)
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

// TestSyncNewOnlyAgreesWithFull makes random changes to a Maildir as
// other programs would (deliveries into new/, removals from new/ and
// cur/, moves from new/ to cur/, flag changes in cur/) and after each one
// compares what a kept handle sees after Poll (a new/-only listing
// whenever cur/ is unchanged) with what a fresh Store on the same Maildir
// sees (full listings): the same UIDs with the same flags.
func TestSyncNewOnlyAgreesWithFull(t *testing.T) {
	root := makeBigMaildir(t, 30)
	ctx := context.Background()
	mb, m := watchlessInbox(t, root)
	view := func(mb store.Mailbox) map[uint32]string {
		t.Helper()
		out := map[uint32]string{}
		if err := mb.Messages(ctx, nil, func(mi *store.MessageInfo) error {
			out[mi.UID] = normFlags(append(mi.Flags.System.Names(), mi.Flags.Keywords...))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(sub string) string {
		files, _ := filepath.Glob(filepath.Join(root, sub, "*"))
		if len(files) == 0 {
			return ""
		}
		return files[rng.IntN(len(files))]
	}
	partial, delivered := 0, 0
	for step := 0; step < 150; step++ {
		curTouched := false
		switch op := rng.IntN(6); op {
		case 0, 1: // a delivery
			delivered++
			name := "1900000000.M" + strconv.Itoa(delivered) + "P9.other"
			if err := os.WriteFile(filepath.Join(root, "new", name), []byte("Subject: x\n\ny\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		case 2: // removed from new/
			if f := pick("new"); f != "" {
				os.Remove(f)
			}
		case 3: // moved to cur/ as seen
			if f := pick("new"); f != "" {
				os.Rename(f, filepath.Join(root, "cur", filepath.Base(f)+":2,S"))
				curTouched = true
			}
		case 4: // flags changed in cur/
			if f := pick("cur"); f != "" {
				b, _, _ := strings.Cut(f, ":2,")
				os.Rename(f, b+":2,"+[]string{"", "F", "RS", "ST"}[rng.IntN(4)])
				curTouched = true
			}
		case 5: // removed from cur/
			if f := pick("cur"); f != "" {
				os.Remove(f)
				curTouched = true
			}
		}
		if !curTouched {
			// Time passes: cur/ as last listed is old enough to trust.
			m.mu.Lock()
			if cm, err := dirMtime(filepath.Join(root, "cur")); err == nil && m.curStamp.mtime == cm {
				m.curStamp.scanned = cm + 2*dirtyWindow
			}
			scans := m.fullScans
			m.mu.Unlock()
			if _, err := mb.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			m.mu.Lock()
			if m.fullScans == scans {
				partial++
			}
			m.mu.Unlock()
		} else if _, err := mb.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		kept := view(mb)
		fresh, err := Open(root, Options{NoInotify: true, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		full := listing(t, fresh, store.Inbox)
		fresh.Close()
		if !maps.Equal(kept, full) {
			t.Fatalf("step %d: the kept handle sees %v, a fresh Store %v", step, kept, full)
		}
	}
	if partial < 20 {
		t.Errorf("only %d of the syncs listed new/ alone", partial)
	}
	t.Logf("%d syncs listed new/ alone", partial)
}

// watchlessInbox opens the INBOX of the Maildir at root read-only in a
// Store without inotify, so that its syncs go by the directory stamps,
// and returns the handle and its mailbox state; both close with the test.
func watchlessInbox(t *testing.T, root string) (store.Mailbox, *mbox) {
	t.Helper()
	s := newTestStore(t, root, Options{NoInotify: true, NoSync: true})
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb, mb.(*handle).m
}
