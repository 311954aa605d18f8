package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// RunReplica checks a store's store.Replica: an append keeps the UID,
// GUID, flags and date given and an open handle is told of it; a UID
// below UIDNEXT and an unusable GUID are refused; UIDNEXT is raised,
// never lowered, and a plain Append goes on from it; a renumbering
// needs a higher UIDVALIDITY, gives the messages the UIDs asked by
// GUID (the others above, in their order) with their bytes, flags and
// GUIDs, and open handles report ChangeUIDValidity. o.Reopen, when set,
// reads the results again in a fresh Store.
func RunReplica(t *testing.T, o Opener) {
	t.Run("Append", func(t *testing.T) { replicaAppend(t, o) })
	t.Run("Renumber", func(t *testing.T) { replicaRenumber(t, o) })
}

func asReplica(t *testing.T, s store.Store) store.Replica {
	t.Helper()
	r, ok := s.(store.Replica)
	if !ok {
		t.Fatalf("%T does not implement store.Replica", s)
	}
	return r
}

func replicaAppend(t *testing.T, o Opener) {
	s := o.New(t)
	r := asReplica(t, s)
	ctx := context.Background()
	body := "Subject: r\r\n\r\nreplica\r\n"
	guid := "1700000000.M1P2Q3.partner,S=23,W=23" // a Maildir partner's
	date := time.Unix(1700000000, 0)
	h, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	res, err := r.ReplicaAppend(ctx, store.Inbox, strings.NewReader(body), store.ReplicaAppendOptions{UID: 7, GUID: guid, Flags: store.Flags{System: store.Seen, Keywords: []string{"$Work"}}, InternalDate: date})
	if err != nil || res.UID != 7 {
		t.Fatalf("ReplicaAppend: %+v %v", res, err)
	}
	ch, err := h.Poll(ctx)
	if err != nil || len(ch) == 0 || ch[0].Kind != store.ChangeNew || ch[0].UID != 7 || ch[0].Message.GUID != guid {
		t.Fatalf("Poll after ReplicaAppend: %+v %v", ch, err)
	}
	if st, _ := h.Status(ctx); st.UIDNext != 8 {
		t.Errorf("UIDNEXT %d, want 8", st.UIDNext)
	}
	if _, err := r.ReplicaAppend(ctx, store.Inbox, strings.NewReader(body), store.ReplicaAppendOptions{UID: 5, GUID: "other"}); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("UID 5 below UIDNEXT: %v", err)
	}
	for _, g := range []string{"", "a b", "x\ny", strings.Repeat("g", 1000)} {
		if _, err := r.ReplicaAppend(ctx, store.Inbox, strings.NewReader(body), store.ReplicaAppendOptions{UID: 20, GUID: g}); !errors.Is(err, store.ErrInvalidGUID) {
			t.Errorf("GUID %q: %v", g, err)
		}
	}
	if err := r.ReplicaSetUIDNext(ctx, store.Inbox, 30); err != nil {
		t.Fatal(err)
	}
	if err := r.ReplicaSetUIDNext(ctx, store.Inbox, 10); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(ctx, store.Inbox); st.UIDNext != 30 {
		t.Errorf("UIDNEXT %d after ReplicaSetUIDNext 30 then 10", st.UIDNext)
	}
	if a, err := h.Append(ctx, strings.NewReader(body), store.AppendOptions{}); err != nil || a.UID != 30 {
		t.Errorf("Append after ReplicaSetUIDNext: %+v %v", a, err)
	}
	st, _ := s.Status(ctx, store.Inbox)
	if err := r.ReplicaRenumber(ctx, store.Inbox, st.UIDValidity, 1, nil); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Errorf("renumber to the same UIDVALIDITY: %v", err)
	}
	check := func(s store.Store, when string) {
		h, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		var got []store.MessageInfo
		h.Messages(ctx, nil, func(m *store.MessageInfo) error { got = append(got, *m); return nil })
		if len(got) != 2 || got[0].UID != 7 || got[0].GUID != guid || !got[0].InternalDate.Equal(date) ||
			!got[0].Flags.Equal(store.Flags{System: store.Seen, Keywords: []string{"$Work"}}) || got[1].UID != 30 {
			t.Errorf("%s: %+v", when, got)
		}
	}
	check(s, "after the appends")
	if o.Reopen != nil {
		check(o.Reopen(t, s), "reopened")
	}
}

func replicaRenumber(t *testing.T, o Opener) {
	s := o.New(t)
	r := asReplica(t, s)
	ctx := context.Background()
	h, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	flags := []store.Flags{{System: store.Seen}, {Keywords: []string{"$A"}}, {System: store.Flagged, Keywords: []string{"$B"}}}
	var guids []string
	for i, f := range flags {
		a, err := h.Append(ctx, strings.NewReader("Subject: "+string(rune('a'+i))+"\r\n\r\nx\r\n"), store.AppendOptions{Flags: f})
		if err != nil {
			t.Fatal(err)
		}
		h.Messages(ctx, store.UIDSetOf(a.UID), func(m *store.MessageInfo) error { guids = append(guids, m.GUID); return nil })
	}
	before, _ := h.Status(ctx)
	// The first two swap UIDs; the third, not named, goes above.
	if err := r.ReplicaRenumber(ctx, store.Inbox, before.UIDValidity+10, 5, map[string]uint32{guids[0]: 2, guids[1]: 1}); err != nil {
		t.Fatal(err)
	}
	ch, err := h.Poll(ctx)
	if err != nil || len(ch) == 0 || ch[0].Kind != store.ChangeUIDValidity {
		t.Fatalf("Poll after renumbering: %+v %v", ch, err)
	}
	want := map[uint32]int{2: 0, 1: 1, 5: 2}
	check := func(s store.Store, when string) {
		h, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		st, _ := h.Status(ctx)
		if st.UIDValidity != before.UIDValidity+10 || st.UIDNext != 6 || st.Messages != 3 {
			t.Errorf("%s: %+v", when, st)
		}
		var got []store.MessageInfo
		h.Messages(ctx, nil, func(m *store.MessageInfo) error { got = append(got, *m); return nil })
		for _, m := range got {
			i, ok := want[m.UID]
			if !ok || m.GUID != guids[i] || !m.Flags.Equal(flags[i]) {
				t.Errorf("%s: UID %d %+v", when, m.UID, m)
				continue
			}
			rd, err := h.Open(ctx, m.UID)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rd)
			rd.Close()
			if !strings.HasPrefix(string(b), "Subject: "+string(rune('a'+i))) {
				t.Errorf("%s: UID %d holds %q", when, m.UID, b)
			}
		}
	}
	check(s, "after renumbering")
	if o.Reopen != nil {
		check(o.Reopen(t, s), "reopened")
	}
	h2, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if a, err := h2.Append(ctx, strings.NewReader("Subject: d\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil || a.UID != 6 || a.UIDValidity != before.UIDValidity+10 {
		t.Errorf("Append after renumbering: %+v %v", a, err)
	}
}

// ReplicaSampleGUID is the GUID ReplicaSample gives the message of UID
// uid.
func ReplicaSampleGUID(uid uint32) string { return fmt.Sprintf("1700000000.M%dP1Q1.partner", uid) }

// ReplicaSample gives s's INBOX, through store.Replica, the messages a
// partner had as UIDs 3 and 9 (GUIDs ReplicaSampleGUID, flags \Seen and
// $Work) and UIDNEXT 40, and returns its status: what interop tests
// then check another program (Dovecot) reads.
func ReplicaSample(t *testing.T, s store.Store) store.MailboxStatus {
	t.Helper()
	ctx := context.Background()
	r := asReplica(t, s)
	for _, uid := range []uint32{3, 9} {
		opts := store.ReplicaAppendOptions{UID: uid, GUID: ReplicaSampleGUID(uid), Flags: store.Flags{System: store.Seen, Keywords: []string{"$Work"}}}
		if _, err := r.ReplicaAppend(ctx, store.Inbox, strings.NewReader("Subject: r\r\n\r\nreplica\r\n"), opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.ReplicaSetUIDNext(ctx, store.Inbox, 40); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(ctx, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// RunReplicaRead checks that another program reads what store.Replica
// wrote: open (a fresh Store each call, closed by the caller's cleanup or
// here) gets ReplicaSample's messages and UIDNEXT, then a renumbering
// (UIDVALIDITY +5, UID 9 to 60, the other above it); after each, fetch
// returns the INBOX as `doveadm -f flow fetch "uid guid flags"` prints
// it (guid left out where the program has GUIDs of its own: withGUID
// false) and status its `uidnext=N uidvalidity=N`.
func RunReplicaRead(t *testing.T, open func(t *testing.T) store.Store, fetch, status func() string, withGUID bool) {
	t.Helper()
	s := open(t)
	st := ReplicaSample(t, s)
	s.Close()
	checkReplicaRead(t, fetch, status, st, false, withGUID)
	s = open(t)
	if err := asReplica(t, s).ReplicaRenumber(context.Background(), store.Inbox, st.UIDValidity+5, 50, map[string]uint32{ReplicaSampleGUID(9): 60}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	checkReplicaRead(t, fetch, status, st, true, withGUID)
}

func checkReplicaRead(t *testing.T, fetch, status func() string, st store.MailboxStatus, renumbered, withGUID bool) {
	t.Helper()
	uids, uv, next := map[uint32]uint32{3: 3, 9: 9}, st.UIDValidity, uint32(40)
	if renumbered {
		uids, uv, next = map[uint32]uint32{3: 61, 9: 60}, st.UIDValidity+5, 62
	}
	out := strings.ReplaceAll(fetch(), ` \Recent`, "")
	for _, old := range []uint32{3, 9} {
		want := fmt.Sprintf("uid=%d ", uids[old])
		if withGUID {
			want += "guid=" + ReplicaSampleGUID(old) + " "
		}
		want += `flags=\Seen $Work`
		if !strings.Contains(out, want) {
			t.Errorf("fetch lacks %q:\n%s", want, out)
		}
	}
	s := status()
	for _, want := range []string{fmt.Sprintf("uidvalidity=%d", uv), fmt.Sprintf("uidnext=%d", next)} {
		if !strings.Contains(s, want) {
			t.Errorf("status lacks %q: %s", want, s)
		}
	}
}
