package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// Opener opens stores for the suite. New returns a fresh, empty store in
// its own location; Reopen opens the store at the same location as s
// again (a new process would see the same), after s was closed.
type Opener struct {
	New    func(t *testing.T) store.Store
	Reopen func(t *testing.T, s store.Store) store.Store
}

// Run runs the whole suite. newStore returns a fresh, empty store for
// each subtest; tests that need to reopen a store use RunOpener instead,
// so Run skips them.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	RunOpener(t, Opener{New: newStore})
}

// RunOpener runs the whole suite, including the reopen tests when
// o.Reopen is set.
func RunOpener(t *testing.T, o Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, o Opener)
	}{
		{"AppendAndRead", testAppendAndRead},
		{"UIDsAscending", testUIDsAscending},
		{"FlagsRoundTrip", testFlagsRoundTrip},
		{"Keywords", testKeywords},
		{"Expunge", testExpunge},
		{"ExpungeReopen", testExpungeReopen},
		{"UIDValidityPersists", testUIDValidityPersists},
		{"CopyMove", testCopyMove},
		{"CopyMoveAbsent", testCopyMoveAbsent},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Notifications", testNotifications},
		{"Mailboxes", testMailboxes},
		{"RenameWithChildren", testRenameWithChildren},
		{"RenameInbox", testRenameInbox},
		{"InvalidNames", testInvalidNames},
		{"BytesExact", testBytesExact},
		{"LargeMessage", testLargeMessage},
		{"CondStore", testCondStore},
		{"ReadOnly", testReadOnly},
		{"Subscriptions", testSubscriptions},
		{"Status", testStatus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, o) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func openBox(t *testing.T, s store.Store, name string, ro bool) store.Mailbox {
	t.Helper()
	mb, err := s.OpenMailbox(ctx(t), name, store.OpenOptions{ReadOnly: ro})
	if err != nil {
		t.Fatalf("OpenMailbox(%q): %v", name, err)
	}
	t.Cleanup(func() { mb.Close() })
	return mb
}

func appendMsg(t *testing.T, mb store.Mailbox, body string, flags store.Flags) uint32 {
	t.Helper()
	res, err := mb.Append(ctx(t), strings.NewReader(body), store.AppendOptions{Flags: flags})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res.UID
}

func readAll(t *testing.T, mb store.Mailbox, uid uint32) []byte {
	t.Helper()
	r, err := mb.Open(ctx(t), uid)
	if err != nil {
		t.Fatalf("Open(%d): %v", uid, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %d: %v", uid, err)
	}
	return b
}

// infos returns every message of mb, copied.
func infos(t *testing.T, mb store.Mailbox) []store.MessageInfo {
	t.Helper()
	var out []store.MessageInfo
	err := mb.Messages(ctx(t), nil, func(mi *store.MessageInfo) error {
		c := *mi
		c.Flags.Keywords = append([]string(nil), mi.Flags.Keywords...)
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	return out
}

func uidsOf(list []store.MessageInfo) []uint32 {
	out := make([]uint32, len(list))
	for i, m := range list {
		out[i] = m.UID
	}
	return out
}

func sameUIDs(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedKeywords(k []string) string {
	c := make([]string, len(k))
	for i, s := range k {
		c[i] = strings.ToLower(s)
	}
	sort.Strings(c)
	return strings.Join(c, " ")
}

func testMessage(i int) string {
	return fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nSubject: test %d\r\nMessage-ID: <%d@example.org>\r\n\r\nbody %d\r\n", i, i, i)
}

func testAppendAndRead(t *testing.T, o Opener) {
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	date := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	body := testMessage(1)
	res, err := mb.Append(ctx(t), strings.NewReader(body), store.AppendOptions{Flags: store.Flags{System: store.Seen}, InternalDate: date})
	if err != nil {
		t.Fatal(err)
	}
	if res.UID == 0 || res.UIDValidity == 0 {
		t.Fatalf("AppendResult = %+v", res)
	}
	st, _ := mb.Status(ctx(t))
	if st.UIDValidity != res.UIDValidity {
		t.Fatalf("UIDVALIDITY %d, append said %d", st.UIDValidity, res.UIDValidity)
	}
	list := infos(t, mb)
	if len(list) != 1 || list[0].UID != res.UID {
		t.Fatalf("messages = %+v", list)
	}
	mi := list[0]
	if mi.Flags.System != store.Seen || !mi.InternalDate.Equal(date) || mi.Size != int64(len(body)) || mi.ModSeq == 0 || mi.GUID == "" {
		t.Fatalf("info = %+v", mi)
	}
	if got := readAll(t, mb, res.UID); string(got) != body {
		t.Fatalf("body = %q", got)
	}
	if _, err := mb.Open(ctx(t), res.UID+100); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("Open(missing) = %v, want ErrNoSuchMessage", err)
	}
}

func testUIDsAscending(t *testing.T, o Opener) {
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	var last uint32
	for i := 0; i < 20; i++ {
		uid := appendMsg(t, mb, testMessage(i), store.Flags{})
		if uid <= last {
			t.Fatalf("append %d got UID %d after %d", i, uid, last)
		}
		last = uid
	}
	st, _ := mb.Status(ctx(t))
	if st.UIDNext <= last || st.Messages != 20 {
		t.Fatalf("status %+v after last UID %d", st, last)
	}
}

func testFlagsRoundTrip(t *testing.T, o Opener) {
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	all := []store.SystemFlags{store.Seen, store.Answered, store.Flagged, store.Deleted, store.Draft, store.Seen | store.Flagged | store.Draft}
	var uids []uint32
	for i, f := range all {
		uids = append(uids, appendMsg(t, mb, testMessage(i), store.Flags{System: f}))
	}
	for i, mi := range infos(t, mb) {
		if mi.Flags.System != all[i] {
			t.Fatalf("uid %d flags %v, want %v", mi.UID, mi.Flags.System.Names(), all[i].Names())
		}
	}
	upd, failed, err := mb.SetFlags(ctx(t), store.UIDSetOf(uids[0]), store.FlagsAdd, store.Flags{System: store.Answered}, 0)
	if err != nil || len(failed) != 0 || len(upd) != 1 || upd[0].Flags.System != store.Seen|store.Answered {
		t.Fatalf("add: %+v %v %v", upd, failed, err)
	}
	upd, _, err = mb.SetFlags(ctx(t), store.UIDSetOf(uids[0]), store.FlagsRemove, store.Flags{System: store.Seen}, 0)
	if err != nil || len(upd) != 1 || upd[0].Flags.System != store.Answered {
		t.Fatalf("remove: %+v %v", upd, err)
	}
	upd, _, err = mb.SetFlags(ctx(t), store.UIDSetOf(uids[1]), store.FlagsReplace, store.Flags{System: store.Draft}, 0)
	if err != nil || len(upd) != 1 || upd[0].Flags.System != store.Draft {
		t.Fatalf("replace: %+v %v", upd, err)
	}
	got := infos(t, mb)
	if got[0].Flags.System != store.Answered || got[1].Flags.System != store.Draft {
		t.Fatalf("after store: %v %v", got[0].Flags.System.Names(), got[1].Flags.System.Names())
	}
	if got[0].ModSeq != upd[0].ModSeq && got[1].ModSeq != upd[0].ModSeq {
		t.Fatalf("modseq not reported in Messages")
	}
	if o.Reopen != nil {
		s.Close()
		s2 := o.Reopen(t, s)
		mb2 := openBox(t, s2, store.Inbox, false)
		got2 := infos(t, mb2)
		for i := range got {
			if got2[i].UID != got[i].UID || got2[i].Flags.System != got[i].Flags.System {
				t.Fatalf("after reopen %d: %+v vs %+v", i, got2[i], got[i])
			}
		}
	}
}

func testKeywords(t *testing.T, o Opener) {
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	u1 := appendMsg(t, mb, testMessage(1), store.Flags{System: store.Seen, Keywords: []string{"$Important", "NonJunk"}})
	u2 := appendMsg(t, mb, testMessage(2), store.Flags{})
	if _, _, err := mb.SetFlags(ctx(t), store.UIDSetOf(u2), store.FlagsAdd, store.Flags{Keywords: []string{"$label1", "$important"}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(ctx(t), store.UIDSetOf(u1), store.FlagsRemove, store.Flags{Keywords: []string{"nonjunk"}}, 0); err != nil {
		t.Fatal(err)
	}
	check := func(mb store.Mailbox) {
		got := infos(t, mb)
		if len(got) != 2 || sortedKeywords(got[0].Flags.Keywords) != "$important" || sortedKeywords(got[1].Flags.Keywords) != "$important $label1" {
			t.Fatalf("keywords: %+v", got)
		}
		if got[0].Flags.System != store.Seen {
			t.Fatalf("system flags lost: %v", got[0].Flags.System.Names())
		}
	}
	check(mb)
	if _, _, err := mb.SetFlags(ctx(t), store.UIDSetOf(u1), store.FlagsAdd, store.Flags{Keywords: []string{"bad keyword"}}, 0); !errors.Is(err, store.ErrKeywordInvalid) {
		t.Fatalf("invalid keyword: %v", err)
	}
	if o.Reopen != nil {
		s.Close()
		s2 := o.Reopen(t, s)
		check(openBox(t, s2, store.Inbox, false))
	}
}

func testExpunge(t *testing.T, o Opener) {
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	var uids []uint32
	for i := 0; i < 5; i++ {
		uids = append(uids, appendMsg(t, mb, testMessage(i), store.Flags{}))
	}
	if _, _, err := mb.SetFlags(ctx(t), store.UIDSetOf(uids[1], uids[3], uids[4]), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	got, err := mb.Expunge(ctx(t), store.UIDSetOf(uids[1], uids[3]))
	if err != nil || !sameUIDs(got, []uint32{uids[1], uids[3]}) {
		t.Fatalf("Expunge(set) = %v, %v", got, err)
	}
	got, err = mb.Expunge(ctx(t), nil)
	if err != nil || !sameUIDs(got, []uint32{uids[4]}) {
		t.Fatalf("Expunge(all) = %v, %v", got, err)
	}
	if left := uidsOf(infos(t, mb)); !sameUIDs(left, []uint32{uids[0], uids[2]}) {
		t.Fatalf("left %v", left)
	}
	u := appendMsg(t, mb, testMessage(9), store.Flags{})
	if u <= uids[4] {
		t.Fatalf("UID %d reused after expunge of %d", u, uids[4])
	}
}

func testExpungeReopen(t *testing.T, o Opener) {
	if o.Reopen == nil {
		t.Skip("no Reopen")
	}
	s := o.New(t)
	mb := openBox(t, s, store.Inbox, false)
	var last uint32
	for i := 0; i < 3; i++ {
		last = appendMsg(t, mb, testMessage(i), store.Flags{System: store.Deleted})
	}
	if _, err := mb.Expunge(ctx(t), nil); err != nil {
		t.Fatal(err)
	}
	st1, _ := s.Status(ctx(t), store.Inbox)
	mb.Close()
	s.Close()
	s2 := o.Reopen(t, s)
	mb2 := openBox(t, s2, store.Inbox, false)
	st2, _ := mb2.Status(ctx(t))
	if st2.UIDValidity != st1.UIDValidity || st2.Messages != 0 || st2.UIDNext <= last {
		t.Fatalf("after reopen %+v, before %+v", st2, st1)
	}
	if u := appendMsg(t, mb2, testMessage(5), store.Flags{}); u <= last {
		t.Fatalf("UID %d reused after expunge+reopen (last was %d)", u, last)
	}
	if st2.HighestModSeq < st1.HighestModSeq {
		t.Fatalf("HIGHESTMODSEQ went back: %d < %d", st2.HighestModSeq, st1.HighestModSeq)
	}
}

func testUIDValidityPersists(t *testing.T, o Opener) {
	if o.Reopen == nil {
		t.Skip("no Reopen")
	}
	s := o.New(t)
	if err := s.CreateMailbox(ctx(t), "Work", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mb := openBox(t, s, "Work", false)
	u := appendMsg(t, mb, testMessage(1), store.Flags{System: store.Flagged})
	st1, _ := mb.Status(ctx(t))
	mb.Close()
	s.Close()
	s2 := o.Reopen(t, s)
	st2, err := s2.Status(ctx(t), "Work")
	if err != nil {
		t.Fatal(err)
	}
	if st2.UIDValidity != st1.UIDValidity || st2.UIDNext != st1.UIDNext || st2.Messages != 1 {
		t.Fatalf("status after reopen %+v, before %+v", st2, st1)
	}
	mb2 := openBox(t, s2, "Work", false)
	if got := infos(t, mb2); len(got) != 1 || got[0].UID != u || got[0].Flags.System != store.Flagged {
		t.Fatalf("after reopen %+v", got)
	}
}

func testCopyMove(t *testing.T, o Opener) {
	s := o.New(t)
	if err := s.CreateMailbox(ctx(t), "Dest", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mb := openBox(t, s, store.Inbox, false)
	var uids []uint32
	for i := 0; i < 4; i++ {
		uids = append(uids, appendMsg(t, mb, testMessage(i), store.Flags{System: store.Seen, Keywords: []string{fmt.Sprintf("kw%d", i)}}))
	}
	dst := openBox(t, s, "Dest", false)
	res, err := mb.Copy(ctx(t), store.UIDSetOf(uids[0], uids[2]), "Dest")
	if err != nil {
		t.Fatal(err)
	}
	if !sameUIDs(res.SourceUIDs, []uint32{uids[0], uids[2]}) || len(res.DestUIDs) != 2 || res.DestUIDs[0] >= res.DestUIDs[1] || res.DestUIDValidity == 0 || len(res.Expunged) != 0 {
		t.Fatalf("copy result %+v", res)
	}
	if len(infos(t, mb)) != 4 {
		t.Fatal("copy removed source messages")
	}
	if _, err := dst.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got := infos(t, dst)
	if len(got) != 2 || got[0].UID != res.DestUIDs[0] || got[0].Flags.System != store.Seen || sortedKeywords(got[0].Flags.Keywords) != "kw0" {
		t.Fatalf("copied %+v", got)
	}
	if string(readAll(t, dst, res.DestUIDs[1])) != testMessage(2) {
		t.Fatal("copied body differs")
	}
	mres, err := mb.Move(ctx(t), store.UIDSetOf(uids[1], uids[3]), "Dest")
	if err != nil {
		t.Fatal(err)
	}
	if !sameUIDs(mres.SourceUIDs, []uint32{uids[1], uids[3]}) || !sameUIDs(mres.Expunged, []uint32{uids[1], uids[3]}) || len(mres.DestUIDs) != 2 || mres.DestUIDs[0] <= res.DestUIDs[1] {
		t.Fatalf("move result %+v", mres)
	}
	if left := uidsOf(infos(t, mb)); !sameUIDs(left, []uint32{uids[0], uids[2]}) {
		t.Fatalf("source after move %v", left)
	}
	dst.Poll(ctx(t))
	got = infos(t, dst)
	if len(got) != 4 || sortedKeywords(got[3].Flags.Keywords) != "kw3" || string(readAll(t, dst, mres.DestUIDs[1])) != testMessage(3) {
		t.Fatalf("dest after move %+v", got)
	}
	if _, err := mb.Copy(ctx(t), store.UIDSetOf(uids[0]), "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("copy to missing: %v", err)
	}
	// Copy into the same mailbox gives new UIDs.
	self, err := mb.Copy(ctx(t), store.UIDSetOf(uids[0]), store.Inbox)
	if err != nil || len(self.DestUIDs) != 1 || self.DestUIDs[0] <= uids[3] {
		t.Fatalf("self copy %+v %v", self, err)
	}
}

// testCopyMoveAbsent: Copy and Move of a set that names no message of
// the mailbox (UIDs below the lowest, above the highest, an expunged
// one) copy and move nothing. (maildir took the empty selection for
// "every message" and copied the whole mailbox.)
func testCopyMoveAbsent(t *testing.T, o Opener) {
	s := o.New(t)
	if err := s.CreateMailbox(ctx(t), "Dest", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mb := openBox(t, s, store.Inbox, false)
	var uids []uint32
	for i := 0; i < 3; i++ {
		var f store.Flags
		if i == 0 {
			f.System = store.Deleted
		}
		uids = append(uids, appendMsg(t, mb, testMessage(i), f))
	}
	if gone, err := mb.Expunge(ctx(t), nil); err != nil || !sameUIDs(gone, uids[:1]) {
		t.Fatalf("Expunge: %v, %v", gone, err)
	}
	for _, set := range []store.UIDSet{store.UIDSetOf(uids[0]), store.UIDSetOf(uids[2] + 1), {{Start: uids[2] + 5, Stop: uids[2] + 9}}, store.UIDSetOf()} {
		res, err := mb.Copy(ctx(t), set, "Dest")
		if err != nil || len(res.SourceUIDs)+len(res.DestUIDs)+len(res.Expunged) != 0 {
			t.Errorf("Copy %v of no message: %+v, %v", set, res, err)
		}
		res, err = mb.Move(ctx(t), set, "Dest")
		if err != nil || len(res.SourceUIDs)+len(res.DestUIDs)+len(res.Expunged) != 0 {
			t.Errorf("Move %v of no message: %+v, %v", set, res, err)
		}
	}
	// The empty set is no message to the other methods too.
	none := store.UIDSetOf()
	if up, failed, err := mb.SetFlags(ctx(t), none, store.FlagsAdd, store.Flags{System: store.Flagged}, 0); err != nil || len(up) != 0 || len(failed) != 0 {
		t.Errorf("SetFlags of the empty set: %v %v %v", up, failed, err)
	}
	if _, _, err := mb.SetFlags(ctx(t), nil, store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if gone, err := mb.Expunge(ctx(t), none); err != nil || len(gone) != 0 {
		t.Errorf("Expunge of the empty set: %v %v", gone, err)
	}
	n := 0
	if err := mb.Messages(ctx(t), none, func(*store.MessageInfo) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Messages of the empty set: %d messages, %v", n, err)
	}
	for _, m := range infos(t, mb) {
		if m.Flags.System&store.Flagged != 0 {
			t.Errorf("UID %d flagged by SetFlags of the empty set", m.UID)
		}
	}
	if got := uidsOf(infos(t, mb)); !sameUIDs(got, uids[1:]) {
		t.Errorf("source after Copy/Move of no message: %v, want %v", got, uids[1:])
	}
	if st, err := s.Status(ctx(t), "Dest"); err != nil || st.Messages != 0 {
		t.Errorf("destination after Copy/Move of no message: %+v, %v", st, err)
	}
}
