package replicate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// renameSetup makes mailbox X (with a child X/c) with three messages on
// both sides and returns X's UIDVALIDITY and UIDs by body.
func renameSetup(t *testing.T, p *pair) (uint32, map[string]uint32) {
	t.Helper()
	ctx := context.Background()
	if err := p.A.CreateMailbox(ctx, "X/c", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.A.CreateMailbox(ctx, "X", store.CreateOptions{}); err != nil && !errors.Is(err, store.ErrMailboxExists) {
		t.Fatal(err)
	}
	for _, b := range []string{"one\r\n", "two\r\n", "three\r\n"} {
		appendMsg(t, p.A, "X", b, store.Flags{})
	}
	appendMsg(t, p.A, "X/c", "child\r\n", store.Flags{})
	p.sync()
	x := p.same()["X"]
	return x.UIDValidity, bodies(x)
}

// keptUIDs fails unless box holds the bodies under the same UIDs and
// UIDVALIDITY on both sides.
func keptUIDs(t *testing.T, snap map[string]boxSnap, box string, uv uint32, uids map[string]uint32) {
	t.Helper()
	b, ok := snap[box]
	if !ok {
		t.Fatalf("mailbox %q missing; have %v", box, keys(snap))
	}
	if b.UIDValidity != uv {
		t.Errorf("%s: UIDVALIDITY %d, want %d (kept across the rename)", box, b.UIDValidity, uv)
	}
	got := bodies(b)
	for body, uid := range uids {
		if got[body] != uid {
			t.Errorf("%s: %q has UID %d, want %d", box, body, got[body], uid)
		}
	}
}

func keys(m map[string]boxSnap) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A rename on one side is replayed as a rename on the other: no message
// is copied, the children follow, and UIDs and UIDVALIDITY are kept.
func TestRenameReplayedWithoutCopy(t *testing.T) {
	for _, dir := range []string{"A", "B"} {
		t.Run("on"+dir, func(t *testing.T) {
			p := newPair(t)
			uv, uids := renameSetup(t, p)
			s := p.A
			if dir == "B" {
				s = p.B
			}
			if err := s.RenameMailbox(context.Background(), "X", "Y"); err != nil {
				t.Fatal(err)
			}
			st := p.sync()
			if st.Copied != 0 || st.MailboxesRenamed != 1 || st.MailboxesCreated != 0 || st.MailboxesDeleted != 0 {
				t.Errorf("rename sync did %+v; want one rename and nothing copied", st)
			}
			snap := p.same()
			if _, ok := snap["X"]; ok {
				t.Error("X still there")
			}
			keptUIDs(t, snap, "Y", uv, uids)
			if _, ok := bodies(snap["Y/c"])["child\r\n"]; !ok {
				t.Error("child not carried to Y/c")
			}
			// The state followed the rename: the next sync is idle,
			// and a change in the renamed mailbox travels as a change.
			if st := p.sync(); st.Copied+st.Expunged+st.FlagUpdates+st.MailboxesRenamed != 0 {
				t.Errorf("sync after the rename did %+v", st)
			}
			setFlags(t, s, "Y", uids["two\r\n"], store.FlagsAdd, store.Flags{System: store.Flagged})
			if st := p.sync(); st.FlagUpdates != 1 || st.Copied != 0 {
				t.Errorf("flag change after the rename: %+v", st)
			}
			p.same()
		})
	}
}

// Renamed on both sides to different names: one name (the first in
// order) wins on both, no mail is copied, UIDs are kept.
func TestConflictRenamedBothSidesDifferentNames(t *testing.T) {
	p := newPair(t)
	uv, uids := renameSetup(t, p)
	ctx := context.Background()
	if err := p.A.RenameMailbox(ctx, "X", "Zeta"); err != nil {
		t.Fatal(err)
	}
	if err := p.B.RenameMailbox(ctx, "X", "Alpha"); err != nil {
		t.Fatal(err)
	}
	st := p.sync()
	snap := p.same()
	for _, n := range []string{"X", "Zeta"} {
		if _, ok := snap[n]; ok {
			t.Errorf("%s still there", n)
		}
	}
	keptUIDs(t, snap, "Alpha", uv, uids)
	if st.Copied != 0 {
		t.Errorf("copied %d messages", st.Copied)
	}
}

// Renamed on both sides to the same name: nothing to do but move the
// state.
func TestRenamedBothSidesSameName(t *testing.T) {
	p := newPair(t)
	uv, uids := renameSetup(t, p)
	ctx := context.Background()
	p.A.RenameMailbox(ctx, "X", "Y")
	p.B.RenameMailbox(ctx, "X", "Y")
	if st := p.sync(); st.Copied != 0 || st.MailboxesDeleted != 0 {
		t.Errorf("sync did %+v", st)
	}
	keptUIDs(t, p.same(), "Y", uv, uids)
}

// Renamed onto a name the other side created meanwhile: the rename
// wins the name, the other mailbox moves aside under a -temp- name, and
// both keep their mail on both sides.
func TestConflictRenameOntoNameCreatedOnOtherSide(t *testing.T) {
	p := newPair(t)
	uv, uids := renameSetup(t, p)
	ctx := context.Background()
	if err := p.A.RenameMailbox(ctx, "X", "Y"); err != nil {
		t.Fatal(err)
	}
	if err := p.B.CreateMailbox(ctx, "Y", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, p.B, "Y", "new on B\r\n", store.Flags{})
	p.sync()
	snap := p.same()
	keptUIDs(t, snap, "Y", uv, uids)
	aside := ""
	for n := range snap {
		if strings.HasPrefix(n, "Y-temp-") {
			aside = n
		}
	}
	if aside == "" {
		t.Fatalf("B's Y not moved aside: %v", keys(snap))
	}
	if _, ok := bodies(snap[aside])["new on B\r\n"]; !ok {
		t.Errorf("mail of B's Y lost (aside %s)", aside)
	}
}

// Two mailboxes swapping names on one side: the other side swaps them
// too, through temporary names, without a copy.
func TestRenameSwap(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	p.A.CreateMailbox(ctx, "P", store.CreateOptions{})
	p.A.CreateMailbox(ctx, "Q", store.CreateOptions{})
	appendMsg(t, p.A, "P", "in P\r\n", store.Flags{})
	appendMsg(t, p.A, "Q", "in Q\r\n", store.Flags{})
	p.sync()
	before := p.same()
	p.A.RenameMailbox(ctx, "P", "T")
	p.A.RenameMailbox(ctx, "Q", "P")
	p.A.RenameMailbox(ctx, "T", "Q")
	st := p.sync()
	snap := p.same()
	if st.Copied != 0 {
		t.Errorf("copied %d", st.Copied)
	}
	if snap["Q"].UIDValidity != before["P"].UIDValidity || snap["P"].UIDValidity != before["Q"].UIDValidity {
		t.Errorf("not swapped: %+v", snap)
	}
	if _, ok := bodies(snap["Q"])["in P\r\n"]; !ok {
		t.Error("Q does not hold P's mail")
	}
	if len(snap) != 3 {
		t.Errorf("mailboxes %v, want INBOX P Q", keys(snap))
	}
}

// A special-use attribute changed after creation, on either side,
// reaches the other; so do subscriptions.
func TestSpecialUseAndSubscriptionsReplicated(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	p.A.CreateMailbox(ctx, "Box", store.CreateOptions{})
	p.sync()
	special := func(s interface {
		ListMailboxes(context.Context) ([]store.MailboxInfo, error)
	}) string {
		l, _ := s.ListMailboxes(ctx)
		for _, mi := range l {
			if mi.Name == "Box" {
				return mi.SpecialUse
			}
		}
		return "?"
	}
	if err := p.A.(store.SpecialUseSetter).SetSpecialUse(ctx, "Box", store.SpecialArchive); err != nil {
		t.Fatal(err)
	}
	p.A.Subscribe(ctx, "Box")
	p.sync()
	if got := special(p.B); got != store.SpecialArchive {
		t.Errorf("B's special use %q, want \\Archive", got)
	}
	if err := p.B.(store.SpecialUseSetter).SetSpecialUse(ctx, "Box", ""); err != nil {
		t.Fatal(err)
	}
	p.B.Unsubscribe(ctx, "Box")
	p.sync()
	if got := special(p.A); got != "" {
		t.Errorf("A's special use %q, want none", got)
	}
	p.same()
	// The attribute moves with a rename.
	p.B.(store.SpecialUseSetter).SetSpecialUse(ctx, "Box", store.SpecialSent)
	p.sync()
	p.A.RenameMailbox(ctx, "Box", "Sent2")
	p.sync()
	l, _ := p.B.ListMailboxes(ctx)
	found := false
	for _, mi := range l {
		found = found || mi.Name == "Sent2" && mi.SpecialUse == store.SpecialSent
	}
	if !found {
		t.Errorf("B after rename: %+v", l)
	}
}

// A rename travels over the network protocol as a rename.
func TestNetworkRenameReplayed(t *testing.T) {
	p, d, _ := netPair(t, "s3cret", 0)
	ctx := context.Background()
	sync := func() Stats { return netSync(t, p, d) }
	p.A.CreateMailbox(ctx, "X", store.CreateOptions{})
	appendMsg(t, p.A, "X", "m\r\n", store.Flags{})
	sync()
	uv := p.same()["X"].UIDValidity
	p.A.RenameMailbox(ctx, "X", "Y")
	if st := sync(); st.Copied != 0 || st.MailboxesRenamed != 1 {
		t.Errorf("sync did %+v", st)
	}
	if got := p.same()["Y"].UIDValidity; got != uv {
		t.Errorf("UIDVALIDITY %d, want %d", got, uv)
	}
}
