package sdbox

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// recentUIDs lists the UIDs a handle reports \Recent.
func recentUIDs(t *testing.T, mb store.Mailbox) []uint32 {
	t.Helper()
	var out []uint32
	mb.Messages(context.Background(), nil, func(mi *store.MessageInfo) error {
		if mi.Recent {
			out = append(out, mi.UID)
		}
		return nil
	})
	return out
}

// TestRecent: \Recent as Dovecot keeps it. An EXAMINE-like handle shows
// the new messages recent without taking them; the first writable handle
// that lists the mailbox takes them (a second sees none, a delivery's
// handle that only appends takes none); messages arriving later are
// recent in the first writable handle that polls, and STATUS RECENT
// counts the messages nobody has seen.
func TestRecent(t *testing.T) {
	t.Parallel()
	c := context.Background()
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deliver := func(n int) {
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), store.AppendOptions{})
		}
		mb.Close()
	}
	deliver(3)
	if st, _ := s.Status(c, store.Inbox); st.Recent != 3 {
		t.Errorf("STATUS RECENT %d, want 3", st.Recent)
	}
	ro, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
	defer ro.Close()
	if got := fmt.Sprint(recentUIDs(t, ro)); got != "[1 2 3]" {
		t.Errorf("read-only handle: recent %s", got)
	}
	a, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer a.Close()
	b, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer b.Close()
	if got := fmt.Sprint(recentUIDs(t, a)); got != "[1 2 3]" {
		t.Errorf("first writable handle: recent %s", got)
	}
	if st, _ := a.Status(c); st.Recent != 3 {
		t.Errorf("its status: recent %d", st.Recent)
	}
	if got := recentUIDs(t, b); len(got) != 0 {
		t.Errorf("second writable handle: recent %v", got)
	}
	if st, _ := s.Status(c, store.Inbox); st.Recent != 0 {
		t.Errorf("STATUS RECENT %d after a SELECT, want 0", st.Recent)
	}
	deliver(2)
	changes, _ := b.Poll(c)
	var newRecent []string
	for _, ch := range changes {
		if ch.Kind == store.ChangeNew {
			newRecent = append(newRecent, fmt.Sprint(ch.UID, ch.Message.Recent))
		}
	}
	if got := strings.Join(newRecent, " "); got != "4 true 5 true" {
		t.Errorf("first to poll: new %s", got)
	}
	changes, _ = a.Poll(c)
	for _, ch := range changes {
		if ch.Kind == store.ChangeNew && ch.Message.Recent {
			t.Errorf("second to poll: UID %d recent", ch.UID)
		}
	}
	if got := fmt.Sprint(recentUIDs(t, a)); got != "[1 2 3]" {
		t.Errorf("first handle after the poll: recent %s", got)
	}
}

// TestDovecotRecent: yubin and Dovecot share \Recent through
// first_recent_uid. Messages a yubin session took are not recent to
// Dovecot (doveadm mailbox status recent=0); a message
// Dovecot saved next is recent to Dovecot's SELECT, which takes it, so
// a yubin session then finds nothing recent.
func TestDovecotRecent(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	appendN(t, root, 3)
	c := context.Background()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if got := fmt.Sprint(recentUIDs(t, mb)); got != "[1 2 3]" {
		t.Fatalf("yubin: recent %s", got)
	}
	mb.Close()
	if out := doveadm(t, d, "mailbox", "status", "-u", "alice", "recent", store.Inbox); !strings.Contains(out, "recent=0") {
		t.Errorf("doveadm status after yubin's session: %q", out)
	}
	d.Doveadm(t, []byte("From: dovecot@example.org\nSubject: from dovecot\n\nhello\n"), "save", "-u", "alice")
	out := testutil.PreauthIMAP(t, "alice", d.Home("alice"), "sdbox:~/sdbox", "a SELECT INBOX\nb LOGOUT\n")
	if !strings.Contains(out, "* 1 RECENT") {
		t.Errorf("Dovecot's SELECT:\n%s", out)
	}
	mb, _ = s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb.Close()
	if got := recentUIDs(t, mb); len(got) != 0 {
		t.Errorf("yubin after Dovecot's SELECT: recent %v", got)
	}
	if log, _ := readFileString(d.Log); strings.Contains(log, "Error") || strings.Contains(log, "orrupt") {
		t.Errorf("dovecot log reports errors:\n%s", log)
	}
}
