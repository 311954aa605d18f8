package maildir

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

func TestReplicaAppendKeepsUIDAndGUID(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	body := "Subject: r\r\n\r\nreplica\r\n"
	guid := "1700000000.M1P2Q3.partner,S=23,W=23"
	date := time.Unix(1700000000, 0)
	res, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: 7, GUID: guid, Flags: store.Flags{System: store.Seen, Keywords: []string{"$Work"}}, InternalDate: date})
	if err != nil || res.UID != 7 {
		t.Fatalf("ReplicaAppend: %+v %v", res, err)
	}
	h, _ := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{ReadOnly: true})
	defer h.Close()
	st, _ := h.Status(ctx)
	if st.UIDNext != 8 {
		t.Errorf("UIDNEXT %d, want 8", st.UIDNext)
	}
	h.Messages(ctx, nil, func(m *store.MessageInfo) error {
		if m.UID != 7 || m.GUID != guid || !m.InternalDate.Equal(date) || !m.Flags.Has("$Work") || m.Flags.System != store.Seen {
			t.Errorf("message %+v", m)
		}
		return nil
	})
	// A UID below UIDNEXT is never reused; a GUID with a wrong size or a
	// path in it is refused.
	if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: 5, GUID: "other"}); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("UID 5 below UIDNEXT: %v", err)
	}
	for _, g := range []string{"x,S=99", "../x", "a:2,S", ".hidden", "a b"} {
		if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: 20, GUID: g}); !errors.Is(err, store.ErrInvalidGUID) {
			t.Errorf("GUID %q: %v", g, err)
		}
	}
	if err := s.ReplicaSetUIDNext(ctx, "INBOX", 30); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(ctx, "INBOX"); st.UIDNext != 30 {
		t.Errorf("UIDNEXT %d after ReplicaSetUIDNext(30)", st.UIDNext)
	}
	// A renumbering must raise UIDVALIDITY.
	if err := s.ReplicaRenumber(ctx, "INBOX", st.UIDValidity, 1, nil); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("renumber to the same UIDVALIDITY: %v", err)
	}
}

// TestDovecotReadsReplicaChanges: what ReplicaAppend, ReplicaSetUIDNext
// and ReplicaRenumber write is what Dovecot reads: the UIDs, GUIDs,
// UIDNEXT and UIDVALIDITY given.
func TestDovecotReadsReplicaChanges(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	root := dovecotHome(t, d)
	fetch, status := d.ReplicaReaders(t, root, "uid guid flags")
	storetest.RunReplicaRead(t, func(t *testing.T) store.Store {
		s, err := Open(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, fetch, status, true)
}
