package replicate

import (
	"context"
	"fmt"
	"testing"

	"github.com/yubinmail/yubin/mbox"
	"github.com/yubinmail/yubin/store"
)

// mboxPair is a pair of mbox stores in directories of their own, so
// that the test can stop and start them.
type mboxPair struct {
	*pair
	dirA, dirB string
}

func newMboxPair(t *testing.T) *mboxPair {
	p := &mboxPair{pair: &pair{t: t}, dirA: t.TempDir(), dirB: t.TempDir()}
	sa, sb := t.TempDir(), t.TempDir()
	p.ea = &LocalEndpoint{States: &StateStore{Dir: sa, NoSync: true}, Partner: "b", User: "u"}
	p.eb = &LocalEndpoint{States: &StateStore{Dir: sb, NoSync: true}, Partner: "a", User: "u"}
	p.restart()
	return p
}

// restart closes the stores (if open) and opens them again.
func (p *mboxPair) restart() {
	for _, s := range []store.Store{p.A, p.B} {
		if s != nil {
			s.Close()
		}
	}
	open := func(dir string) store.Store {
		s, err := mbox.Open(dir, mbox.Options{NoSync: true, Hostname: "h"})
		if err != nil {
			p.t.Fatal(err)
		}
		p.t.Cleanup(func() { s.Close() })
		return s
	}
	p.A, p.B = open(p.dirA), open(p.dirB)
	p.ea.Store, p.eb.Store = p.A, p.B
}

// sameSecond creates mailbox name on both sides (INBOX: opens it) until
// both have one UIDVALIDITY, as two servers that made it in the same
// second: UIDVALIDITY is the time.
func sameSecond(t *testing.T, a, b store.Store, name string) uint32 {
	t.Helper()
	ctx := context.Background()
	for try := 0; try < 5; try++ {
		for _, s := range []store.Store{a, b} {
			if name == store.Inbox {
				h, err := s.OpenMailbox(ctx, name, store.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				h.Close()
			} else if err := s.CreateMailbox(ctx, name, store.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		sa, errA := a.Status(ctx, name)
		sb, errB := b.Status(ctx, name)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if sa.UIDValidity == sb.UIDValidity {
			return sa.UIDValidity
		}
		if name == store.Inbox {
			t.Fatalf("INBOX: UIDVALIDITY %d and %d", sa.UIDValidity, sb.UIDValidity)
		}
		for _, s := range []store.Store{a, b} {
			if err := s.DeleteMailbox(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatalf("%s: no two creations in one second in 5 tries", name)
	return 0
}

// TestMboxPairSameSecond: two mbox servers whose mailboxes were created
// in the same second (one UIDVALIDITY, so their first messages share
// UIDVALIDITY and UID) converge as Maildir pairs do: every message is
// kept on both sides with one UID and one GUID, and after both restart
// (GUIDs read again from the files) a sync finds nothing to do.
func TestMboxPairSameSecond(t *testing.T) {
	p := newMboxPair(t)
	ctx := context.Background()
	for _, name := range []string{store.Inbox, "Work"} {
		sameSecond(t, p.A, p.B, name)
		for _, side := range []struct {
			s    store.Store
			name string
		}{{p.A, "A"}, {p.B, "B"}} {
			for j := 0; j < 3; j++ {
				if uid := appendMsg(t, side.s, name, fmt.Sprintf("Subject: %s %d\r\n\r\nfrom %s\r\n", name, j, side.name), store.Flags{}); uid != uint32(j+1) {
					t.Fatalf("setup: %s on %s got UID %d", name, side.name, uid)
				}
			}
		}
	}
	// The same bytes under one UIDVALIDITY and UID on both sides: one
	// message.
	appendMsg(t, p.A, "Work", "same\r\n", store.Flags{})
	appendMsg(t, p.B, "Work", "same\r\n", store.Flags{})
	st, err := (&Syncer{}).Sync(ctx, p.ea, p.eb)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	snap := p.same()
	for _, name := range []string{store.Inbox, "Work"} {
		got := bodies(snap[name])
		for _, side := range []string{"A", "B"} {
			for j := 0; j < 3; j++ {
				if b := fmt.Sprintf("Subject: %s %d\r\n\r\nfrom %s\r\n", name, j, side); got[b] == 0 {
					t.Errorf("%s: %q lost", name, b)
				}
			}
		}
	}
	if n := len(snap["Work"].Msgs); n != 7 {
		t.Errorf("Work holds %d messages, want 7", n)
	}
	if st.Renumbered == 0 {
		t.Errorf("sync %+v renumbered nothing", st)
	}
	// Both sides go on in the same mailboxes.
	appendMsg(t, p.A, store.Inbox, "Subject: later\r\n\r\nfrom A\r\n", store.Flags{})
	appendMsg(t, p.B, store.Inbox, "Subject: later\r\n\r\nfrom B\r\n", store.Flags{})
	p.sync()
	before := p.same()
	p.restart()
	if st := p.sync(); st.Copied != 0 || st.Expunged != 0 || st.Renumbered != 0 {
		t.Errorf("sync after a restart did %+v", st)
	}
	after := p.same()
	for name, b := range before {
		for uid, m := range b.Msgs {
			if after[name].Msgs[uid] != m {
				t.Errorf("%s UID %d: %+v before the restart, %+v after", name, uid, m, after[name].Msgs[uid])
			}
		}
	}
}
