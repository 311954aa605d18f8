package mbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

// TestReplicaRenumberStaleHandle: a handle that has not yet seen the new
// UIDVALIDITY cannot expunge by a UID of the old numbering (it names
// another message now).
func TestReplicaRenumberStaleHandle(t *testing.T) {
	s := openHomeOpts(t, t.TempDir(), Options{NoSync: true})
	ctx := context.Background()
	h, _ := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	defer h.Close()
	for _, b := range []string{"a\r\n", "b\r\n"} {
		if _, err := h.Append(ctx, strings.NewReader(b), store.AppendOptions{Flags: store.Flags{System: store.Deleted}}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := h.Status(ctx)
	if err := s.ReplicaRenumber(ctx, "INBOX", st.UIDValidity+1, 1, map[string]uint32{fmt.Sprintf("%08x%08x", st.UIDValidity, 2): 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Expunge(ctx, store.UIDSetOf(1)); !errors.Is(err, store.ErrMailboxGone) {
		t.Errorf("expunge by a UID of the old numbering: %v", err)
	}
	if _, _, err := h.SetFlags(ctx, store.UIDSetOf(1), store.FlagsAdd, store.Flags{System: store.Seen}, 0); !errors.Is(err, store.ErrMailboxGone) {
		t.Errorf("flags by a UID of the old numbering: %v", err)
	}
	if st2, _ := s.Status(ctx, "INBOX"); st2.Messages != 2 {
		t.Errorf("%d messages after the stale expunge, want 2", st2.Messages)
	}
}

// TestDovecotReadsMboxReplicaChanges: Dovecot reads the UIDs,
// UIDVALIDITY, UIDNEXT and flags the Replica methods wrote.
func TestDovecotReadsMboxReplicaChanges(t *testing.T) {
	t.Parallel()
	d, home := mboxDovecot(t)
	ctx := context.Background()
	s := openHome(t, home)
	st := storetest.ReplicaSample(t, s)
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	fetch := func() string {
		out := d.Doveadm(t, nil, "-f", "flow", "fetch", "-u", "alice", "uid flags", "mailbox", "INBOX")
		return strings.ReplaceAll(out, ` \Recent`, "")
	}
	out := fetch()
	for _, want := range []string{"uid=3 flags=\\Seen $Work", "uid=9 flags=\\Seen $Work"} {
		if !strings.Contains(out, want) {
			t.Errorf("doveadm fetch lacks %q:\n%s", want, out)
		}
	}
	if uv, next := dovecotStatus(t, d, "INBOX"); uv != st.UIDValidity || next != 40 {
		t.Errorf("Dovecot: UIDVALIDITY %d UIDNEXT %d, want %d 40", uv, next, st.UIDValidity)
	}
	s2 := openHome(t, home)
	if err := s2.ReplicaRenumber(ctx, "INBOX", st.UIDValidity+5, 50, map[string]uint32{storetest.ReplicaSampleGUID(9): 60}); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	out = fetch()
	for _, want := range []string{"uid=60 flags=\\Seen $Work", "uid=61 flags=\\Seen $Work"} {
		if !strings.Contains(out, want) {
			t.Errorf("after renumbering, doveadm fetch lacks %q:\n%s", want, out)
		}
	}
	if uv, next := dovecotStatus(t, d, "INBOX"); uv != st.UIDValidity+5 || next != 62 {
		t.Errorf("Dovecot after renumbering: UIDVALIDITY %d UIDNEXT %d, want %d 62", uv, next, st.UIDValidity+5)
	}
}
