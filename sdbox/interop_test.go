package sdbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestDovecotReadsYubinSdbox: a tree yubin wrote (several folders, a
// non-ASCII name, flags, keywords, 1,000 messages) is fetched by doveadm
// with identical UIDs, flags, keywords, GUIDs and bytes; Dovecot then
// adds, flags and expunges and a yubin handle sees it; yubin then adds,
// flags and expunges and Dovecot sees it.
func TestDovecotReadsYubinSdbox(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	c := context.Background()
	s, err := Open(root, Options{NoSync: true, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	folders := []string{store.Inbox, "Archive/2024", "Entwürfe", "Sent"}
	for _, f := range folders[1:] {
		if err := s.CreateMailbox(c, f, store.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Subscribe(c, "Archive/2024"); err != nil {
		t.Fatal(err)
	}
	kws := []string{"$Important", "NonJunk", "$label1"}
	sys := []store.SystemFlags{0, store.Seen, store.Seen | store.Answered, store.Flagged, store.Draft | store.Deleted}
	for i := 0; i < 1000; i++ {
		name := folders[i%len(folders)]
		mb, err := s.OpenMailbox(c, name, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("From: a@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n", i, i)
		if i%3 == 0 {
			body = strings.ReplaceAll(body, "\r\n", "\n") // LF-only kept as is
		}
		f := store.Flags{System: sys[i%len(sys)]}
		if i%4 == 1 {
			f.Keywords = kws[:1+i%3]
		}
		if _, err := mb.Append(c, strings.NewReader(body), store.AppendOptions{Flags: f}); err != nil {
			t.Fatal(err)
		}
		mb.Close()
	}
	// Some changes after the appends, in the log.
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(1, 5, 9), store.FlagsAdd, store.Flags{System: store.Flagged, Keywords: []string{"Later"}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(2), store.FlagsReplace, store.Flags{Keywords: []string{"$label1"}}, 0); err != nil {
		t.Fatal(err)
	}
	mb.SetFlags(c, store.UIDSetOf(3), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	if _, err := mb.Expunge(c, store.UIDSetOf(3)); err != nil {
		t.Fatal(err)
	}
	want := yubinFetch(t, s, "", true)
	if len(want) != 999 {
		t.Fatalf("yubin lists %d messages", len(want))
	}
	got := doveadmFetch(t, d, "", true)
	compareMessages(t, "dovecot reading yubin", got, want)
	if st := doveadm(t, d, "mailbox", "status", "-u", "alice", "uidvalidity", store.Inbox); !strings.Contains(st, fmt.Sprint(mustStatus(t, s, store.Inbox).UIDValidity)) {
		t.Errorf("doveadm uidvalidity %q, yubin %d", st, mustStatus(t, s, store.Inbox).UIDValidity)
	}
	if subs := doveadm(t, d, "mailbox", "list", "-u", "alice", "-s"); !strings.Contains(subs, "Archive/2024") {
		t.Errorf("dovecot subscriptions %q", subs)
	}

	// Dovecot changes; yubin's open handle sees them.
	mb.Poll(c)
	next := mustStatus(t, s, store.Inbox).UIDNext
	d.Doveadm(t, []byte("From: dovecot@example.org\nSubject: from dovecot\n\nhello\n"), "save", "-u", "alice")
	doveadm(t, d, "flags", "add", "-u", "alice", `\Seen $FromDovecot`, "mailbox", "INBOX", "uid", "5")
	doveadm(t, d, "flags", "remove", "-u", "alice", `\Flagged Later`, "mailbox", "INBOX", "uid", "9")
	doveadm(t, d, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", "13")
	changes, err := mb.Poll(c)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ch := range changes {
		k := fmt.Sprintf("%d:%d", ch.Kind, ch.UID)
		if len(kinds) == 0 || kinds[len(kinds)-1] != k { // flags and keywords may come as two changes
			kinds = append(kinds, k)
		}
	}
	want2 := fmt.Sprintf("%d:%d %d:5 %d:9 %d:13", store.ChangeNew, next, store.ChangeFlags, store.ChangeFlags, store.ChangeExpunge)
	if strings.Join(kinds, " ") != want2 {
		t.Errorf("poll after Dovecot's changes: %v, want %s", kinds, want2)
	}
	compareMessages(t, "yubin reading Dovecot's changes", doveadmFetch(t, d, store.Inbox, true), yubinFetch(t, s, store.Inbox, true))

	// yubin changes; Dovecot sees them.
	if _, err := mb.Append(c, strings.NewReader("Subject: from yubin again\r\n\r\nx\r\n"), store.AppendOptions{Flags: store.Flags{System: store.Answered, Keywords: []string{"$FromDovecot"}}}); err != nil {
		t.Fatal(err)
	}
	mb.SetFlags(c, store.UIDSetOf(next, 17), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	if _, err := mb.Expunge(c, store.UIDSetOf(17)); err != nil {
		t.Fatal(err)
	}
	compareMessages(t, "dovecot reading yubin's later changes", doveadmFetch(t, d, store.Inbox, true), yubinFetch(t, s, store.Inbox, true))
	if out := doveadm(t, d, "fetch", "-u", "alice", "uid", "mailbox", "INBOX", "uid", fmt.Sprint(next+1)); !strings.Contains(out, fmt.Sprint(next+1)) {
		t.Errorf("dovecot does not see UID %d: %q", next+1, out)
	}
	if log, _ := readFileString(d.Log); strings.Contains(log, "Error") || strings.Contains(log, "orrupt") {
		t.Errorf("dovecot log reports errors:\n%s", log)
	}
}

func mustStatus(t *testing.T, s *Store, name string) store.MailboxStatus {
	t.Helper()
	st, err := s.Status(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
