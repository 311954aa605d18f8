package replicate

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// plainStore hides a store's Replica methods: a format that keeps
// neither UIDs nor GUIDs of a copy (as pgstore does this round).
type plainStore struct{ store.Store }

// bumpUIDValidities gives every mailbox of s a UIDVALIDITY of its own
// (fresh roots draw theirs from the clock, the same second on both).
func bumpUIDValidities(t *testing.T, r store.Replica, s store.Store, by uint32) {
	ctx := context.Background()
	infos, _ := s.ListMailboxes(ctx)
	for _, mi := range infos {
		st, err := s.Status(ctx, mi.Name)
		if err != nil {
			continue
		}
		if err := r.ReplicaRenumber(ctx, mi.Name, st.UIDValidity+by, st.UIDNext, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// contents is a store's mail without UIDs: mailbox → sorted "body|flags".
func contents(t *testing.T, s store.Store) map[string][]string {
	snap, _ := snapshot(t, s)
	out := map[string][]string{}
	for name, b := range snap {
		var l []string
		for _, m := range b.Msgs {
			l = append(l, m.Body+"|"+m.Flags)
		}
		sort.Strings(l)
		out[name] = l
	}
	return out
}

func sameContents(t *testing.T, a, b store.Store) map[string][]string {
	t.Helper()
	ca, cb := contents(t, a), contents(t, b)
	for name, l := range ca {
		if strings.Join(l, "\n") != strings.Join(cb[name], "\n") {
			t.Errorf("%s differs:\nA %q\nB %q", name, l, cb[name])
		}
	}
	for name := range cb {
		if _, ok := ca[name]; !ok {
			t.Errorf("%s only on B", name)
		}
	}
	return ca
}

// Without store.Replica on one side, messages are matched by ID, copies
// get their own UIDs and GUIDs, flags and expunges still travel, and an
// interrupted sync (copies made, no state written) does not duplicate.
func TestGenericStoreWithoutReplica(t *testing.T) {
	p := newPair(t)
	bumpUIDValidities(t, p.B.(store.Replica), p.B, 1000)
	p.eb.Store = plainStore{p.B}
	ctx := context.Background()
	u1 := appendMsg(t, p.A, "INBOX", "one\r\n", store.Flags{})
	appendMsg(t, p.A, "INBOX", "two\r\n", store.Flags{})
	ub := appendMsg(t, p.B, "INBOX", "three\r\n", store.Flags{})
	p.B.CreateMailbox(ctx, "Only/B", store.CreateOptions{})
	p.sync()
	sameContents(t, p.A, p.B)
	if st := p.sync(); st.Copied != 0 {
		t.Errorf("second sync copied %d", st.Copied)
	}
	setFlags(t, p.A, "INBOX", u1, store.FlagsAdd, store.Flags{System: store.Flagged})
	expunge(t, p.B, "INBOX", ub)
	p.sync()
	got := sameContents(t, p.A, p.B)
	if len(got["INBOX"]) != 2 {
		t.Errorf("INBOX %q, want one and two", got["INBOX"])
	}
	// Both states lost: the same messages on both sides are paired by
	// their bytes, not copied again.
	os.RemoveAll(p.ea.States.Dir)
	os.RemoveAll(p.eb.States.Dir)
	if st := p.sync(); st.Copied != 0 {
		t.Errorf("sync without state copied %d messages (duplicates)", st.Copied)
	}
	sameContents(t, p.A, p.B)
	if st := p.sync(); st.Copied != 0 {
		t.Errorf("next sync copied %d", st.Copied)
	}
}

// Without store.Replica on either side, a mailbox with the same
// UIDVALIDITY on both sides is not synced (its UIDs would differ under
// one UIDVALIDITY) and the error says so. (With store.Replica on one
// side, that side takes a new UIDVALIDITY: TestGenericStoreWithoutReplica's
// Only/B.)
func TestGenericSameUIDValidityRefused(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	sa, _ := p.A.Status(ctx, "INBOX")
	sb, _ := p.B.Status(ctx, "INBOX")
	if sa.UIDValidity != sb.UIDValidity {
		if sa.UIDValidity < sb.UIDValidity {
			p.A.(store.Replica).ReplicaRenumber(ctx, "INBOX", sb.UIDValidity, 1, nil)
		} else {
			p.B.(store.Replica).ReplicaRenumber(ctx, "INBOX", sa.UIDValidity, 1, nil)
		}
	}
	p.ea.Store = plainStore{p.A}
	p.eb.Store = plainStore{p.B}
	appendMsg(t, p.A, "INBOX", "one\r\n", store.Flags{})
	_, err := (&Syncer{}).Sync(ctx, p.ea, p.eb)
	if !errors.Is(err, ErrUIDValidityClash) {
		t.Fatalf("sync: %v, want ErrUIDValidityClash", err)
	}
	if st, _ := p.B.Status(ctx, "INBOX"); st.Messages != 0 {
		t.Errorf("INBOX copied under a shared UIDVALIDITY")
	}
}
