package replicate

import (
	"context"
	"os"
	"testing"

	"github.com/yubinmail/yubin/store"
)

func setFlags(t *testing.T, s store.Store, box string, uid uint32, op store.FlagOp, f store.Flags) {
	t.Helper()
	ctx := context.Background()
	h, err := s.OpenMailbox(ctx, box, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, _, err := h.SetFlags(ctx, store.UIDSetOf(uid), op, f, 0); err != nil {
		t.Fatal(err)
	}
}

func expunge(t *testing.T, s store.Store, box string, uid uint32) {
	t.Helper()
	setFlags(t, s, box, uid, store.FlagsAdd, store.Flags{System: store.Deleted})
	ctx := context.Background()
	h, err := s.OpenMailbox(ctx, box, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if ex, err := h.Expunge(ctx, store.UIDSetOf(uid)); err != nil || len(ex) != 1 {
		t.Fatalf("expunge %d: %v %v", uid, ex, err)
	}
}

func bodies(b boxSnap) map[string]uint32 {
	out := map[string]uint32{}
	for uid, m := range b.Msgs {
		out[m.Body] = uid
	}
	return out
}

// Both sides got a different message under the same UID: both are kept,
// both get new UIDs above either side's UIDNEXT, UIDVALIDITY stays, and
// the contested UID is on neither side any more (a client that saw it
// on either side must not find another message under it).
func TestConflictSameUIDDifferentMessages(t *testing.T) {
	forReplicaFormats(t, testConflictSameUIDDifferentMessages)
}

func testConflictSameUIDDifferentMessages(t *testing.T, p *pair) {
	appendMsg(t, p.A, "INBOX", "m1\r\n", store.Flags{})
	p.sync()
	before := p.same()["INBOX"].UIDValidity
	ua := appendMsg(t, p.A, "INBOX", "from A\r\n", store.Flags{})
	ub := appendMsg(t, p.B, "INBOX", "from B\r\n", store.Flags{})
	if ua != ub {
		t.Fatalf("setup: UIDs %d and %d differ", ua, ub)
	}
	st := p.sync()
	snap := p.same()["INBOX"]
	if snap.UIDValidity != before {
		t.Errorf("UIDVALIDITY changed %d -> %d; renumbering above UIDNEXT keeps it", before, snap.UIDValidity)
	}
	got := bodies(snap)
	for _, b := range []string{"m1\r\n", "from A\r\n", "from B\r\n"} {
		if _, ok := got[b]; !ok {
			t.Errorf("%q lost", b)
		}
	}
	if _, ok := snap.Msgs[ua]; ok {
		t.Errorf("UID %d still used: a client of one side would see another message under it", ua)
	}
	if got["from A\r\n"] <= ua || got["from B\r\n"] <= ua {
		t.Errorf("renumbered UIDs %v not above %d", got, ua)
	}
	if st.Renumbered != 2 {
		t.Errorf("renumbered %d, want 2", st.Renumbered)
	}
}

// A UID the other side used and expunged is not given to a different
// message: the message is renumbered above it.
func TestConflictUIDBurnedOnOtherSide(t *testing.T) {
	forReplicaFormats(t, testConflictUIDBurnedOnOtherSide)
}

func testConflictUIDBurnedOnOtherSide(t *testing.T, p *pair) {
	appendMsg(t, p.A, "INBOX", "m1\r\n", store.Flags{})
	p.sync()
	u2 := appendMsg(t, p.A, "INBOX", "gone\r\n", store.Flags{})
	expunge(t, p.A, "INBOX", u2) // A used UID u2; B never saw it
	ub := appendMsg(t, p.B, "INBOX", "new on B\r\n", store.Flags{})
	if ub != u2 {
		t.Fatalf("setup: %d vs %d", ub, u2)
	}
	p.sync()
	snap := p.same()["INBOX"]
	if uid := bodies(snap)["new on B\r\n"]; uid <= u2 {
		t.Errorf("message on B kept UID %d, which A had given to another message", uid)
	}
}

// A message expunged on one side and flagged on the other is expunged
// on both (as dsync does: the expunge wins).
func TestConflictExpungeVersusFlag(t *testing.T) { forReplicaFormats(t, testConflictExpungeVersusFlag) }

func testConflictExpungeVersusFlag(t *testing.T, p *pair) {
	uid := appendMsg(t, p.A, "INBOX", "x\r\n", store.Flags{})
	appendMsg(t, p.A, "INBOX", "y\r\n", store.Flags{})
	p.sync()
	expunge(t, p.A, "INBOX", uid)
	setFlags(t, p.B, "INBOX", uid, store.FlagsAdd, store.Flags{System: store.Flagged})
	p.sync()
	snap := p.same()["INBOX"]
	if _, ok := bodies(snap)["x\r\n"]; ok {
		t.Error("expunged message kept")
	}
	if _, ok := bodies(snap)["y\r\n"]; !ok {
		t.Error("other message lost")
	}
}

// Flag changes on both sides are merged flag by flag against the state
// of the last sync.
func TestConflictFlagsMergedBothSides(t *testing.T) {
	forReplicaFormats(t, testConflictFlagsMergedBothSides)
}

func testConflictFlagsMergedBothSides(t *testing.T, p *pair) {
	uid := appendMsg(t, p.A, "INBOX", "x\r\n", store.Flags{Keywords: []string{"$Old"}})
	p.sync()
	setFlags(t, p.A, "INBOX", uid, store.FlagsAdd, store.Flags{System: store.Seen})
	setFlags(t, p.A, "INBOX", uid, store.FlagsRemove, store.Flags{Keywords: []string{"$Old"}})
	setFlags(t, p.B, "INBOX", uid, store.FlagsAdd, store.Flags{System: store.Flagged, Keywords: []string{"$New"}})
	p.sync()
	m := p.same()["INBOX"].Msgs[uid]
	want := store.Flags{System: store.Seen | store.Flagged, Keywords: []string{"$New"}}
	ctx := context.Background()
	h, _ := p.A.OpenMailbox(ctx, "INBOX", store.OpenOptions{ReadOnly: true})
	defer h.Close()
	h.Messages(ctx, store.UIDSetOf(uid), func(mi *store.MessageInfo) error {
		if !mi.Flags.Equal(want) {
			t.Errorf("flags %+v, want %+v (snapshot %s)", mi.Flags, want, m.Flags)
		}
		return nil
	})
}

// A mailbox deleted on one side while the other added mail to it is
// kept on both, with all its mail.
func TestConflictDeleteVersusNewMail(t *testing.T) {
	forReplicaFormats(t, testConflictDeleteVersusNewMail)
}

func testConflictDeleteVersusNewMail(t *testing.T, p *pair) {
	ctx := context.Background()
	p.A.CreateMailbox(ctx, "X", store.CreateOptions{})
	appendMsg(t, p.A, "X", "old\r\n", store.Flags{})
	p.sync()
	if err := p.A.DeleteMailbox(ctx, "X"); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, p.B, "X", "new\r\n", store.Flags{})
	p.sync()
	snap := p.same()
	x, ok := snap["X"]
	if !ok {
		t.Fatal("X deleted although B added mail to it")
	}
	if _, ok := bodies(x)["new\r\n"]; !ok {
		t.Error("new mail lost")
	}
}

// A mailbox deleted on one side and unchanged on the other is deleted.
func TestDeletePropagates(t *testing.T) { forReplicaFormats(t, testDeletePropagates) }

func testDeletePropagates(t *testing.T, p *pair) {
	ctx := context.Background()
	p.A.CreateMailbox(ctx, "X", store.CreateOptions{SpecialUse: store.SpecialArchive})
	appendMsg(t, p.A, "X", "old\r\n", store.Flags{})
	p.sync()
	infos, _ := p.B.ListMailboxes(ctx)
	special := ""
	for _, mi := range infos {
		if mi.Name == "X" {
			special = mi.SpecialUse
		}
	}
	if special != store.SpecialArchive {
		t.Errorf("special-use on B %q", special)
	}
	p.A.DeleteMailbox(ctx, "X")
	p.sync()
	if _, ok := p.same()["X"]; ok {
		t.Error("X not deleted on B")
	}
}

// Renamed on one side, deleted on the other: the renamed mailbox and
// its mail survive on both.
func TestConflictRenameVersusDelete(t *testing.T) {
	forReplicaFormats(t, testConflictRenameVersusDelete)
}

func testConflictRenameVersusDelete(t *testing.T, p *pair) {
	ctx := context.Background()
	p.A.CreateMailbox(ctx, "X", store.CreateOptions{})
	appendMsg(t, p.A, "X", "keep me\r\n", store.Flags{})
	p.sync()
	if err := p.A.RenameMailbox(ctx, "X", "Y"); err != nil {
		t.Fatal(err)
	}
	if err := p.B.DeleteMailbox(ctx, "X"); err != nil {
		t.Fatal(err)
	}
	p.sync()
	snap := p.same()
	if _, ok := snap["X"]; ok {
		t.Error("X came back")
	}
	if _, ok := bodies(snap["Y"])["keep me\r\n"]; !ok {
		t.Error("mail of the renamed mailbox lost")
	}
}

// Two non-empty mailboxes synced for the first time with different
// UIDVALIDITYs: the side with the lower one takes the higher one (it
// must grow) and the other's UIDs; all mail is on both.
func TestFirstSyncDifferentUIDValidity(t *testing.T) {
	forReplicaFormats(t, testFirstSyncDifferentUIDValidity)
}

func testFirstSyncDifferentUIDValidity(t *testing.T, p *pair) {
	// Fresh roots draw their UIDVALIDITY from the clock: make B's differ.
	st, _ := p.B.Status(context.Background(), "INBOX")
	if err := p.B.(store.Replica).ReplicaRenumber(context.Background(), "INBOX", st.UIDValidity+7, 1, nil); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, p.A, "INBOX", "a1\r\n", store.Flags{})
	appendMsg(t, p.B, "INBOX", "b1\r\n", store.Flags{})
	appendMsg(t, p.B, "INBOX", "b2\r\n", store.Flags{})
	sa, _ := snapshot(t, p.A)
	sb, _ := snapshot(t, p.B)
	va, vb := sa["INBOX"].UIDValidity, sb["INBOX"].UIDValidity
	if va == vb {
		t.Fatal("setup: same UIDVALIDITY")
	}
	p.sync()
	snap := p.same()["INBOX"]
	if snap.UIDValidity != max(va, vb) {
		t.Errorf("UIDVALIDITY %d, want the higher of %d and %d", snap.UIDValidity, va, vb)
	}
	if len(snap.Msgs) != 3 {
		t.Errorf("%d messages, want 3", len(snap.Msgs))
	}
}

// After the state is known, a sync moves only what changed: a partner
// that was away catches up without copying everything again.
func TestIncrementalCatchUp(t *testing.T) { forReplicaFormats(t, testIncrementalCatchUp) }

func testIncrementalCatchUp(t *testing.T, p *pair) {
	for i := 0; i < 50; i++ {
		appendMsg(t, p.A, "INBOX", "old "+string(rune('a'+i%26))+string(rune('a'+i/26))+"\r\n", store.Flags{})
	}
	p.sync()
	for i := 0; i < 5; i++ {
		appendMsg(t, p.A, "INBOX", "new "+string(rune('a'+i))+"\r\n", store.Flags{})
	}
	st := p.sync()
	if st.Copied != 5 {
		t.Errorf("copied %d messages, want the 5 new ones", st.Copied)
	}
	p.same()
}

// Without a state both sides agree on (lost), nothing is deleted: a
// message expunged on one side comes back rather than being removed on
// the strength of a guess.
func TestLostStateDeletesNothing(t *testing.T) { forReplicaFormats(t, testLostStateDeletesNothing) }

func testLostStateDeletesNothing(t *testing.T, p *pair) {
	uid := appendMsg(t, p.A, "INBOX", "x\r\n", store.Flags{})
	p.sync()
	os.RemoveAll(p.eb.States.Dir)
	expunge(t, p.B, "INBOX", uid)
	p.sync()
	if _, ok := bodies(p.same()["INBOX"])["x\r\n"]; !ok {
		t.Error("message deleted without a sync state")
	}
}
