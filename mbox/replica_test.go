package mbox

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	if err := s.ReplicaRenumber(ctx, "INBOX", st.UIDValidity+1, 1, map[string]uint32{mailboxGUIDs(t, s, "INBOX")[2]: 1}); err != nil {
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
	fetch, status := d.ReplicaReaders(t, home, "uid flags")
	// Dovecot's mbox GUIDs are its own (from the header): only UIDs,
	// flags, UIDVALIDITY and UIDNEXT are compared.
	storetest.RunReplicaRead(t, func(t *testing.T) store.Store { return openHome(t, home) }, fetch, status, false)
}
