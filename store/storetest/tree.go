package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

func listed(t *testing.T, s store.Store) map[string]store.MailboxInfo {
	t.Helper()
	list, err := s.ListMailboxes(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.MailboxInfo{}
	for _, mi := range list {
		if _, dup := out[mi.Name]; dup {
			t.Fatalf("%q listed twice", mi.Name)
		}
		out[mi.Name] = mi
	}
	return out
}

func testMailboxes(t *testing.T, o Opener) {
	s := o.New(t)
	c := ctx(t)
	if err := s.CreateMailbox(c, "Archive/2024", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(c, "Entwürfe", store.CreateOptions{SpecialUse: store.SpecialDrafts}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(c, "Entwürfe", store.CreateOptions{}); !errors.Is(err, store.ErrMailboxExists) {
		t.Fatalf("create twice: %v", err)
	}
	if err := s.CreateMailbox(c, "inbox", store.CreateOptions{}); !errors.Is(err, store.ErrMailboxExists) {
		t.Fatalf("create INBOX: %v", err)
	}
	l := listed(t, s)
	if mi, ok := l[store.Inbox]; !ok || mi.NoSelect {
		t.Fatalf("INBOX: %+v", l)
	}
	if mi := l["Archive/2024"]; mi.Name == "" || mi.NoSelect {
		t.Fatalf("Archive/2024: %+v", l)
	}
	if mi := l["Archive"]; mi.Name == "" || !mi.HasChildren {
		t.Fatalf("Archive parent: %+v", l)
	}
	if mi := l["Entwürfe"]; mi.SpecialUse != store.SpecialDrafts {
		t.Fatalf("special use: %+v", mi)
	}
	mb := openBox(t, s, "Archive/2024", false)
	appendMsg(t, mb, testMessage(1), store.Flags{})
	if _, err := s.OpenMailbox(c, "Nope", store.OpenOptions{}); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("open missing: %v", err)
	}
	if _, err := s.Status(c, "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("status missing: %v", err)
	}
	if err := s.DeleteMailbox(c, store.Inbox); !errors.Is(err, store.ErrNotAllowed) {
		t.Fatalf("delete INBOX: %v", err)
	}
	if err := s.DeleteMailbox(c, "Nope"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("delete missing: %v", err)
	}
	if err := s.DeleteMailbox(c, "Archive/2024"); err != nil {
		t.Fatal(err)
	}
	changes, err := mb.Poll(c)
	if err != nil && !errors.Is(err, store.ErrMailboxGone) {
		t.Fatal(err)
	}
	if err == nil && (len(changes) == 0 || changes[len(changes)-1].Kind != store.ChangeDeleted) {
		t.Fatalf("poll after delete: %+v", changes)
	}
	if _, ok := listed(t, s)["Archive/2024"]; ok {
		t.Fatal("deleted mailbox still listed")
	}
	// Recreated: a new UIDVALIDITY, or at least no UID reuse.
	if err := s.CreateMailbox(c, "Archive/2024", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(c, "Archive/2024")
	if err != nil || st.Messages != 0 {
		t.Fatalf("recreated: %+v %v", st, err)
	}
}

func testRenameWithChildren(t *testing.T, o Opener) {
	s := o.New(t)
	c := ctx(t)
	for _, n := range []string{"Projects", "Projects/A", "Projects/A/Deep", "Projectsish"} {
		if err := s.CreateMailbox(c, n, store.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mb := openBox(t, s, "Projects/A/Deep", false)
	uid := appendMsg(t, mb, testMessage(7), store.Flags{System: store.Flagged})
	st1, _ := s.Status(c, "Projects/A/Deep")
	if err := s.RenameMailbox(c, "Projects", "Done/Old"); err != nil {
		t.Fatal(err)
	}
	l := listed(t, s)
	for _, n := range []string{"Done/Old", "Done/Old/A", "Done/Old/A/Deep", "Projectsish"} {
		if mi, ok := l[n]; !ok || mi.NoSelect {
			t.Fatalf("%q missing after rename: %v", n, l)
		}
	}
	for _, n := range []string{"Projects", "Projects/A", "Projects/A/Deep"} {
		if _, ok := l[n]; ok {
			t.Fatalf("%q still listed after rename", n)
		}
	}
	mb2 := openBox(t, s, "Done/Old/A/Deep", false)
	got := infos(t, mb2)
	if len(got) != 1 || got[0].Flags.System != store.Flagged || string(readAll(t, mb2, got[0].UID)) != testMessage(7) {
		t.Fatalf("renamed content %+v", got)
	}
	if st2, _ := mb2.Status(c); st2.UIDValidity == st1.UIDValidity && got[0].UID != uid {
		t.Fatalf("UID changed under the same UIDVALIDITY")
	}
	if err := s.RenameMailbox(c, "Nope", "Other"); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("rename missing: %v", err)
	}
	if err := s.RenameMailbox(c, "Done", "Projectsish"); !errors.Is(err, store.ErrMailboxExists) {
		t.Fatalf("rename onto existing: %v", err)
	}
}

func testRenameInbox(t *testing.T, o Opener) {
	s := o.New(t)
	c := ctx(t)
	mb := openBox(t, s, store.Inbox, false)
	appendMsg(t, mb, testMessage(1), store.Flags{System: store.Seen})
	appendMsg(t, mb, testMessage(2), store.Flags{Keywords: []string{"$Important"}})
	if err := s.RenameMailbox(c, "INBOX", "Old Inbox"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(c, store.Inbox)
	if err != nil || st.Messages != 0 {
		t.Fatalf("INBOX after rename: %+v %v", st, err)
	}
	old := openBox(t, s, "Old Inbox", false)
	got := infos(t, old)
	if len(got) != 2 || got[0].Flags.System != store.Seen || sortedKeywords(got[1].Flags.Keywords) != "$important" {
		t.Fatalf("renamed INBOX: %+v", got)
	}
	if string(readAll(t, old, got[1].UID)) != testMessage(2) {
		t.Fatal("body differs after INBOX rename")
	}
	if _, ok := listed(t, s)[store.Inbox]; !ok {
		t.Fatal("INBOX gone after rename")
	}
	u := appendMsg(t, mb, testMessage(3), store.Flags{})
	if u == 0 {
		t.Fatal("append to INBOX after rename")
	}
}

func testInvalidNames(t *testing.T, o Opener) {
	s := o.New(t)
	c := ctx(t)
	bad := []string{"..", "../escape", "a/../b", "/leading", "trailing/", "a//b", "nul\x00byte", "", "./x", strings.Repeat("x", 256), "ok/" + strings.Repeat("y", 256)}
	for _, n := range bad {
		if err := s.CreateMailbox(c, n, store.CreateOptions{}); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("CreateMailbox(%q) = %v, want ErrInvalidName", n, err)
		}
		if _, err := s.OpenMailbox(c, n, store.OpenOptions{}); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("OpenMailbox(%q) = %v, want ErrInvalidName", n, err)
		}
		if err := s.RenameMailbox(c, store.Inbox, n); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("RenameMailbox(INBOX, %q) = %v, want ErrInvalidName", n, err)
		}
	}
	if err := s.CreateMailbox(c, strings.Repeat("z", 200), store.CreateOptions{}); err != nil {
		t.Errorf("a 200-byte level: %v", err)
	}
	for n := range listed(t, s) {
		if strings.Contains(n, "..") || strings.HasPrefix(n, "/") {
			t.Errorf("listed %q", n)
		}
	}
}

func testSubscriptions(t *testing.T, o Opener) {
	s := o.New(t)
	c := ctx(t)
	if err := s.CreateMailbox(c, "Sent", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Subscriptions(c)
	for _, n := range []string{"Sent", "Archive/2024", "Entwürfe"} {
		if err := s.Subscribe(c, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Subscribe(c, "Sent"); err != nil {
		t.Fatal(err)
	}
	subs, err := s.Subscriptions(c)
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]int{}
	for _, n := range subs {
		has[n]++
	}
	if has["Sent"] != 1 || has["Archive/2024"] != 1 || has["Entwürfe"] != 1 || len(subs) != len(before)+3-countIn(before, "Sent") {
		t.Fatalf("subscriptions %v (before %v)", subs, before)
	}
	if !listed(t, s)["Sent"].Subscribed {
		t.Fatal("Sent not marked subscribed in list")
	}
	if err := s.Unsubscribe(c, "Archive/2024"); err != nil {
		t.Fatal(err)
	}
	subs, _ = s.Subscriptions(c)
	for _, n := range subs {
		if n == "Archive/2024" {
			t.Fatal("still subscribed")
		}
	}
}

func countIn(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
