package mbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

func TestReplicaAppendKeepsUIDAndGUID(t *testing.T) {
	home := t.TempDir()
	s := openHomeOpts(t, home, Options{NoSync: true})
	ctx := context.Background()
	body := "Subject: r\r\n\r\nreplica\r\n"
	guid := "1700000000.M1P2Q3.partner,S=23,W=23"
	date := time.Unix(1700000000, 0)
	h, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	res, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: 7, GUID: guid, Flags: store.Flags{System: store.Seen, Keywords: []string{"$Work"}}, InternalDate: date})
	if err != nil || res.UID != 7 {
		t.Fatalf("ReplicaAppend: %+v %v", res, err)
	}
	ch, err := h.Poll(ctx)
	if err != nil || len(ch) != 1 || ch[0].Kind != store.ChangeNew || ch[0].UID != 7 || ch[0].Message.GUID != guid {
		t.Fatalf("Poll after ReplicaAppend: %+v %v", ch, err)
	}
	if st, _ := h.Status(ctx); st.UIDNext != 8 {
		t.Errorf("UIDNEXT %d, want 8", st.UIDNext)
	}
	if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: 5, GUID: "other"}); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("UID 5 below UIDNEXT: %v", err)
	}
	for _, g := range []string{"", "a b", "x\ny", strings.Repeat("g", 201)} {
		if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: 20, GUID: g}); !errors.Is(err, store.ErrInvalidGUID) {
			t.Errorf("GUID %q: %v", g, err)
		}
	}
	if err := s.ReplicaSetUIDNext(ctx, "INBOX", 30); err != nil {
		t.Fatal(err)
	}
	if r, err := h.Append(ctx, strings.NewReader(body), store.AppendOptions{}); err != nil || r.UID != 30 {
		t.Errorf("Append after ReplicaSetUIDNext(30): %+v %v", r, err)
	}
	// A new process reads the same UIDs, GUIDs, flags and date.
	s2 := openHomeOpts(t, home, Options{NoSync: true})
	h2, err := s2.OpenMailbox(ctx, "INBOX", store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	var got []string
	h2.Messages(ctx, nil, func(m *store.MessageInfo) error {
		got = append(got, fmt.Sprint(m.UID, " ", m.GUID == guid, " ", m.Flags.System, m.Flags.Keywords, m.InternalDate.Equal(date)))
		return nil
	})
	if len(got) != 2 || got[0] != "7 true 1 [$Work] true" || !strings.HasPrefix(got[1], "30 false") {
		t.Errorf("after reopening: %q", got)
	}
	st, _ := s2.Status(ctx, "INBOX")
	if err := s2.ReplicaRenumber(ctx, "INBOX", st.UIDValidity, 1, nil); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("renumber to the same UIDVALIDITY: %v", err)
	}
}

// TestReplicaRenumberMbox: the messages get the UIDs given by GUID (the
// file reordered to keep X-UIDs ascending), the others go above, bytes,
// flags and GUIDs stay; an open handle reports ChangeUIDValidity and its
// stale UIDs no longer expunge.
func TestReplicaRenumberMbox(t *testing.T) {
	home := t.TempDir()
	s := openHomeOpts(t, home, Options{NoSync: true})
	ctx := context.Background()
	h, _ := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	defer h.Close()
	var guids []string
	for i, f := range []store.Flags{{System: store.Seen}, {Keywords: []string{"$A"}}, {System: store.Flagged}} {
		r, err := h.Append(ctx, strings.NewReader(fmt.Sprintf("Subject: %c\r\n\r\nx\r\n", 'a'+i)), store.AppendOptions{Flags: f})
		if err != nil {
			t.Fatal(err)
		}
		h.Messages(ctx, store.UIDSetOf(r.UID), func(m *store.MessageInfo) error { guids = append(guids, m.GUID); return nil })
	}
	before, _ := h.Status(ctx)
	if err := s.ReplicaRenumber(ctx, "INBOX", before.UIDValidity+10, 5, map[string]uint32{guids[0]: 2, guids[1]: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Expunge(ctx, store.UIDSetOf(1)); !errors.Is(err, store.ErrMailboxGone) {
		t.Errorf("expunge by a UID of the old numbering: %v", err)
	}
	ch, err := h.Poll(ctx)
	if err != nil || len(ch) == 0 || ch[0].Kind != store.ChangeUIDValidity {
		t.Fatalf("Poll after renumbering: %+v %v", ch, err)
	}
	s2 := openHomeOpts(t, home, Options{NoSync: true})
	h2, err := s2.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	st, _ := h2.Status(ctx)
	if st.UIDValidity != before.UIDValidity+10 || st.UIDNext != 6 || st.Messages != 3 {
		t.Errorf("after renumbering: %+v", st)
	}
	want := map[uint32]string{2: guids[0] + " a", 1: guids[1] + " b", 5: guids[2] + " c"}
	h2.Messages(ctx, nil, func(m *store.MessageInfo) error {
		r, err := h2.Open(ctx, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if got := m.GUID + " " + string(b[9:10]); got != want[m.UID] {
			t.Errorf("UID %d: %q, want %q", m.UID, got, want[m.UID])
		}
		return nil
	})
}

// TestDovecotReadsMboxReplicaChanges: Dovecot reads the UIDs,
// UIDVALIDITY, UIDNEXT and flags the Replica methods wrote.
func TestDovecotReadsMboxReplicaChanges(t *testing.T) {
	t.Parallel()
	d, home := mboxDovecot(t)
	ctx := context.Background()
	s := openHome(t, home)
	body := "Subject: r\r\n\r\nreplica\r\n"
	for _, uid := range []uint32{3, 9} {
		if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: uid, GUID: fmt.Sprintf("g%d", uid), Flags: store.Flags{System: store.Seen, Keywords: []string{"$Work"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReplicaSetUIDNext(ctx, "INBOX", 40); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status(ctx, "INBOX")
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
	if err := s2.ReplicaRenumber(ctx, "INBOX", st.UIDValidity+5, 50, map[string]uint32{"g9": 60}); err != nil {
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
