package replicate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/mbox"
	"github.com/yubinmail/yubin/sdbox"
	"github.com/yubinmail/yubin/store"
)

// openFormat opens an empty store of a format. uvOffset moves the
// UIDVALIDITYs an sdbox root hands out (fresh roots draw theirs from the
// clock, the same second on both sides, and two stores without
// store.Replica cannot sync a mailbox of one UIDVALIDITY).
func openFormat(t *testing.T, format string, uvOffset uint32) store.Store {
	t.Helper()
	dir := t.TempDir()
	var s store.Store
	var err error
	switch format {
	case "maildir":
		s, err = maildir.Open(dir, maildir.Options{NoSync: true, Hostname: "h"})
	case "sdbox":
		uv := uint32(time.Now().Unix()) + uvOffset
		os.WriteFile(filepath.Join(dir, "dovecot-uidvalidity"), fmt.Appendf(nil, "%08x", uv), 0o600)
		s, err = sdbox.Open(dir, sdbox.Options{NoSync: true, Hostname: "h"})
	case "mbox":
		s, err = mbox.Open(dir, mbox.Options{NoSync: true, Hostname: "h"})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// formatPairs are the combinations the format tests run (all three
// formats have store.Replica: UIDs, UIDVALIDITY and GUIDs are kept).
var formatPairs = [][2]string{{"maildir", "sdbox"}, {"sdbox", "sdbox"}, {"maildir", "mbox"}, {"sdbox", "mbox"}, {"mbox", "mbox"}}

func newFormatPair(t *testing.T, fa, fb string) *pair {
	p := &pair{t: t, A: openFormat(t, fa, 200000), B: openFormat(t, fb, 100000)}
	p.ea = &LocalEndpoint{Store: p.A, States: &StateStore{Dir: t.TempDir(), NoSync: true}, Partner: "b", User: "u"}
	p.eb = &LocalEndpoint{Store: p.B, States: &StateStore{Dir: t.TempDir(), NoSync: true}, Partner: "a", User: "u"}
	return p
}

// replicaFormatPairs are the combinations whose stores both implement
// store.Replica: UIDs, UIDVALIDITY and GUIDs are kept, and the conflict
// tests run on each. Two mbox stores opened in the same second give
// their mailboxes one UIDVALIDITY, and their first messages one UID:
// their GUIDs differ by a digest of the content (TestMboxPairSameSecond).
var replicaFormatPairs = [][2]string{{"maildir", "maildir"}, {"maildir", "sdbox"}, {"sdbox", "maildir"}, {"sdbox", "sdbox"}, {"maildir", "mbox"}, {"mbox", "sdbox"}, {"mbox", "mbox"}}

// forReplicaFormats runs fn on a pair of each of replicaFormatPairs.
func forReplicaFormats(t *testing.T, fn func(t *testing.T, p *pair)) {
	for _, f := range replicaFormatPairs {
		t.Run(f[0]+"-"+f[1], func(t *testing.T) {
			fn(t, newFormatPair(t, f[0], f[1]))
		})
	}
}

// bothReplica reports whether both stores of p implement store.Replica.
func bothReplica(p *pair) bool {
	_, a := p.A.(store.Replica)
	_, b := p.B.(store.Replica)
	return a && b
}

func forFormats(t *testing.T, fn func(t *testing.T, p *pair)) {
	for _, f := range formatPairs {
		t.Run(f[0]+"-"+f[1], func(t *testing.T) {
			t.Parallel()
			fn(t, newFormatPair(t, f[0], f[1]))
		})
	}
}

// Mail, flags, expunges and mailboxes travel between every pair of
// formats, with the same UIDVALIDITY, UIDs and GUIDs on both sides.
func TestFormatsSyncBothWays(t *testing.T) {
	forFormats(t, func(t *testing.T, p *pair) {
		ctx := context.Background()
		appendMsg(t, p.A, "INBOX", "Subject: a\r\n\r\nA\r\n", store.Flags{System: store.Seen})
		appendMsg(t, p.B, "INBOX", "Subject: b\r\n\r\nB\r\n", store.Flags{Keywords: []string{"$Work"}})
		if err := p.B.CreateMailbox(ctx, "Lists/Go", store.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		appendMsg(t, p.B, "Lists/Go", "Subject: go\r\n\r\ngo\r\n", store.Flags{})
		p.sync()
		sameContents(t, p.A, p.B)
		if bothReplica(p) {
			p.same() // UIDVALIDITY, UIDs and GUIDs too
		}
		if st := p.sync(); st.Copied != 0 {
			t.Errorf("second sync copied %d", st.Copied)
		}
		// A side may have taken a new UIDVALIDITY (and UIDs) at the
		// first sync: the UID is looked up again.
		snap, _ := snapshot(t, p.A)
		u1 := bodies(snap["INBOX"])["Subject: a\r\n\r\nA\r\n"]
		setFlags(t, p.A, "INBOX", u1, store.FlagsAdd, store.Flags{System: store.Flagged})
		expunge(t, p.A, "INBOX", u1)
		p.sync()
		if got := sameContents(t, p.A, p.B)["INBOX"]; len(got) != 1 {
			t.Errorf("INBOX %q after the expunge", got)
		}
		if bothReplica(p) {
			p.same()
		}
	})
}

// A rename is replayed as a rename between every pair of formats:
// nothing is copied, each side's UIDVALIDITY of the mailbox is kept.
func TestFormatsRenameReplayed(t *testing.T) {
	forFormats(t, func(t *testing.T, p *pair) {
		ctx := context.Background()
		p.A.CreateMailbox(ctx, "X", store.CreateOptions{})
		for i := 0; i < 3; i++ {
			appendMsg(t, p.A, "X", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i), store.Flags{})
		}
		p.sync()
		uvA, _ := p.A.Status(ctx, "X")
		uvB, _ := p.B.Status(ctx, "X")
		for _, s := range []store.Store{p.A, p.B} {
			from, to := "X", "Y"
			if s == p.B {
				from, to = "Y", "Z"
			}
			if err := s.RenameMailbox(ctx, from, to); err != nil {
				t.Fatal(err)
			}
			st := p.sync()
			if st.Copied != 0 || st.MailboxesRenamed != 1 {
				t.Errorf("rename %s to %s: sync did %+v", from, to, st)
			}
			c := sameContents(t, p.A, p.B)
			if len(c[to]) != 3 {
				t.Errorf("%s holds %q", to, c[to])
			}
			a, _ := p.A.Status(ctx, to)
			b, _ := p.B.Status(ctx, to)
			if a.UIDValidity != uvA.UIDValidity || b.UIDValidity != uvB.UIDValidity {
				t.Errorf("UIDVALIDITY A %d→%d, B %d→%d", uvA.UIDValidity, a.UIDValidity, uvB.UIDValidity, b.UIDValidity)
			}
		}
	})
}

// Random concurrent changes on both sides converge between every pair
// of formats.
func TestFormatsRandomChangesConverge(t *testing.T) {
	forFormats(t, func(t *testing.T, p *pair) {
		// An mbox mailbox is a file: it cannot have children.
		p.boxes = []string{"INBOX", "Work", "Lists", "Archive"}
		randomConverge(t, p, 300, !bothReplica(p))
	})
}

// TestGUIDClashReported: one GUID new on both sides over different
// bytes is two messages, not one: both stay where they are and the sync
// reports ErrGUIDClash instead of taking one for the other. Such GUIDs
// come from stores given them (ReplicaAppend) and from the mbox
// mailboxes of older yubin versions, whose messages keep GUIDs of
// UIDVALIDITY and UID alone: two made in the same second clash still.
func TestGUIDClashReported(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, p *pair) {
		if _, err := (&Syncer{}).Sync(ctx, p.ea, p.eb); !errors.Is(err, ErrGUIDClash) {
			t.Fatalf("sync: %v, want ErrGUIDClash", err)
		}
		for _, x := range []struct {
			s    store.Store
			body string
		}{{p.A, "from A\r\n"}, {p.B, "from B\r\n"}} {
			snap, _ := snapshot(t, x.s)
			if m := snap["INBOX"].Msgs[1]; m.Body != x.body || len(snap["INBOX"].Msgs) != 1 {
				t.Errorf("INBOX after the sync: %+v, want %q alone", snap["INBOX"], x.body)
			}
		}
	}
	t.Run("given", func(t *testing.T) {
		p := newPair(t)
		for _, x := range []struct {
			s    store.Store
			body string
		}{{p.A, "from A\r\n"}, {p.B, "from B\r\n"}} {
			if _, err := x.s.(store.Replica).ReplicaAppend(ctx, "INBOX", strings.NewReader(x.body), store.ReplicaAppendOptions{UID: 1, GUID: "same-guid"}); err != nil {
				t.Fatal(err)
			}
		}
		check(t, p)
	})
	t.Run("mbox-older", func(t *testing.T) {
		p := newMboxPair(t)
		sameSecond(t, p.A, p.B, store.Inbox)
		appendMsg(t, p.A, "INBOX", "from A\r\n", store.Flags{})
		appendMsg(t, p.B, "INBOX", "from B\r\n", store.Flags{})
		p.A.Close()
		p.B.Close()
		// As older versions left them: no record of where GUIDs of
		// UIDVALIDITY and UID end (mbox's guid.go).
		for _, dir := range []string{p.dirA, p.dirB} {
			if err := os.Remove(filepath.Join(dir, ".imap", "INBOX", "yubin-mbox-guids")); err != nil {
				t.Fatal(err)
			}
		}
		p.restart()
		check(t, p.pair)
	})
}
