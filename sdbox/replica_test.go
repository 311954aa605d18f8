package sdbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

func TestReplicaAppendKeepsUIDAndGUID(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	body := "Subject: r\r\n\r\nreplica\r\n"
	guid := "1700000000.M1P2Q3.partner,S=23,W=23" // a Maildir partner's GUID
	date := time.Unix(1700000000, 0)
	h, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Messages(ctx, nil, func(*store.MessageInfo) error { return nil })
	res, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: 7, GUID: guid, Flags: store.Flags{System: store.Seen, Keywords: []string{"$Work"}}, InternalDate: date})
	if err != nil || res.UID != 7 {
		t.Fatalf("ReplicaAppend: %+v %v", res, err)
	}
	// The open handle is told of it.
	ch, err := h.Poll(ctx)
	if err != nil || len(ch) == 0 || ch[0].Kind != store.ChangeNew || ch[0].UID != 7 || ch[0].Message.GUID != guid {
		t.Fatalf("Poll after ReplicaAppend: %+v %v", ch, err)
	}
	st, _ := h.Status(ctx)
	if st.UIDNext != 8 {
		t.Errorf("UIDNEXT %d, want 8", st.UIDNext)
	}
	n := 0
	h.Messages(ctx, nil, func(m *store.MessageInfo) error {
		n++
		if m.UID != 7 || m.GUID != guid || !m.InternalDate.Equal(date) || !m.Flags.Has("$Work") || m.Flags.System != store.Seen {
			t.Errorf("message %+v", m)
		}
		return nil
	})
	if n != 1 {
		t.Errorf("%d messages, want 1", n)
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
	if st, _ := s.Status(ctx, "INBOX"); st.UIDNext != 30 {
		t.Errorf("UIDNEXT %d after ReplicaSetUIDNext(30)", st.UIDNext)
	}
	if err := s.ReplicaSetUIDNext(ctx, "INBOX", 10); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(ctx, "INBOX"); st.UIDNext != 30 {
		t.Errorf("UIDNEXT %d after ReplicaSetUIDNext(10): it must not go down", st.UIDNext)
	}
	// A plain Append goes on from there.
	if r, err := h.Append(ctx, strings.NewReader(body), store.AppendOptions{}); err != nil || r.UID != 30 {
		t.Errorf("Append after ReplicaSetUIDNext: %+v %v", r, err)
	}
	if err := s.ReplicaRenumber(ctx, "INBOX", st.UIDValidity, 1, nil); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("renumber to the same UIDVALIDITY: %v", err)
	}
}

// TestReplicaRenumber: the messages get the UIDs given by GUID, the
// others go above; flags, keywords, dates and bytes stay; an open
// handle reports ChangeUIDValidity; appends go on above the new UIDNEXT.
func TestReplicaRenumber(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	h, _ := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	defer h.Close()
	var guids []string
	for i, f := range []store.Flags{{System: store.Seen}, {Keywords: []string{"$A"}}, {System: store.Flagged, Keywords: []string{"$B"}}} {
		r, err := h.Append(ctx, strings.NewReader("Subject: "+string(rune('a'+i))+"\r\n\r\nx\r\n"), store.AppendOptions{Flags: f})
		if err != nil {
			t.Fatal(err)
		}
		h.Messages(ctx, store.UIDSet{{Start: r.UID, Stop: r.UID}}, func(m *store.MessageInfo) error { guids = append(guids, m.GUID); return nil })
	}
	before, _ := h.Status(ctx)
	// Swap the first two UIDs; the third gets none and goes above.
	uids := map[string]uint32{guids[0]: 2, guids[1]: 1}
	if err := s.ReplicaRenumber(ctx, "INBOX", before.UIDValidity+10, 5, uids); err != nil {
		t.Fatal(err)
	}
	ch, err := h.Poll(ctx)
	if err != nil || len(ch) == 0 || ch[0].Kind != store.ChangeUIDValidity {
		t.Fatalf("Poll after renumbering: %+v %v", ch, err)
	}
	h2, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	st, _ := h2.Status(ctx)
	if st.UIDValidity != before.UIDValidity+10 || st.UIDNext != 6 || st.Messages != 3 {
		t.Errorf("after renumbering: %+v", st)
	}
	want := map[uint32]struct {
		guid, subj string
		flags      store.Flags
	}{2: {guids[0], "a", store.Flags{System: store.Seen}}, 1: {guids[1], "b", store.Flags{Keywords: []string{"$A"}}}, 5: {guids[2], "c", store.Flags{System: store.Flagged, Keywords: []string{"$B"}}}}
	h2.Messages(ctx, nil, func(m *store.MessageInfo) error {
		w, ok := want[m.UID]
		if !ok || m.GUID != w.guid || !m.Flags.Equal(w.flags) {
			t.Errorf("message %d: %+v, want %+v", m.UID, m, w)
		}
		r, err := h2.Open(ctx, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 64)
		k, _ := r.Read(b)
		r.Close()
		if !strings.HasPrefix(string(b[:k]), "Subject: "+w.subj) {
			t.Errorf("UID %d holds %q", m.UID, b[:k])
		}
		return nil
	})
	if r, err := h2.Append(ctx, strings.NewReader("Subject: d\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil || r.UID != 6 || r.UIDValidity != st.UIDValidity {
		t.Errorf("Append after renumbering: %+v %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(root, "mailboxes", "INBOX", renumDir)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", renumDir, err)
	}
	if l, _ := s.ListMailboxes(ctx); len(l) != 1 {
		t.Errorf("mailboxes after renumbering: %+v", l)
	}
}

// TestDovecotReadsSdboxReplicaChanges: what ReplicaAppend,
// ReplicaSetUIDNext and ReplicaRenumber write, Dovecot reads with the
// same UIDs, GUIDs, flags, UIDNEXT and UIDVALIDITY, without resyncing.
func TestDovecotReadsSdboxReplicaChanges(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	ctx := context.Background()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := "Subject: r\r\n\r\nreplica\r\n"
	for _, uid := range []uint32{3, 9} {
		g := "1700000000.M" + string(rune('0'+uid)) + "P1Q1.partner"
		if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader(body), store.ReplicaAppendOptions{UID: uid, GUID: g, Flags: store.Flags{System: store.Seen, Keywords: []string{"$Work"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReplicaSetUIDNext(ctx, "INBOX", 40); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status(ctx, "INBOX")
	s.Close()
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	out := strings.ReplaceAll(doveadm(t, d, "-f", "flow", "fetch", "-u", "alice", "uid guid flags", "mailbox", "INBOX"), ` \Recent`, "")
	for _, want := range []string{"uid=3 guid=1700000000.M3P1Q1.partner flags=\\Seen $Work", "uid=9 guid=1700000000.M9P1Q1.partner flags=\\Seen $Work"} {
		if !strings.Contains(out, want) {
			t.Errorf("doveadm fetch lacks %q:\n%s", want, out)
		}
	}
	status := doveadm(t, d, "-f", "flow", "mailbox", "status", "-u", "alice", "uidnext uidvalidity", "INBOX")
	if !strings.Contains(status, "uidnext=40") {
		t.Errorf("doveadm mailbox status: %s", status)
	}

	s, err = Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplicaRenumber(ctx, "INBOX", st.UIDValidity+5, 50, map[string]uint32{"1700000000.M3P1Q1.partner": 60}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	out = strings.ReplaceAll(doveadm(t, d, "-f", "flow", "fetch", "-u", "alice", "uid guid flags", "mailbox", "INBOX"), ` \Recent`, "")
	for _, want := range []string{"uid=60 guid=1700000000.M3P1Q1.partner flags=\\Seen $Work", "uid=61 guid=1700000000.M9P1Q1.partner flags=\\Seen $Work"} {
		if !strings.Contains(out, want) {
			t.Errorf("after renumbering, doveadm fetch lacks %q:\n%s", want, out)
		}
	}
	status = doveadm(t, d, "-f", "flow", "mailbox", "status", "-u", "alice", "uidnext uidvalidity", "INBOX")
	if !strings.Contains(status, "uidvalidity="+itoa(st.UIDValidity+5)) || !strings.Contains(status, "uidnext=62") {
		t.Errorf("doveadm mailbox status after renumbering: %s (want uidvalidity %d, uidnext 62)", status, st.UIDValidity+5)
	}
}

func itoa(n uint32) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
