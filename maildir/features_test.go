package maildir

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

// pollUntil polls mb until n changes arrived, waiting on Notify between
// polls.
func pollUntil(t *testing.T, mb store.Mailbox, n int) []store.Change {
	t.Helper()
	var out []store.Change
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case <-mb.Notify():
		case <-deadline:
			t.Fatalf("got %d changes, want %d: %+v", len(out), n, out)
		}
		ch, err := mb.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ch...)
	}
	return out
}

// Another Store on the same directory behaves as another process: its
// changes reach Notify through inotify (or polling) and Poll.
func TestCrossProcessNotify(t *testing.T) {
	for _, noInotify := range []bool{false, true} {
		name := "inotify"
		if noInotify {
			name = "polling"
		}
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "Maildir")
			opts := Options{NoInotify: noInotify, PollInterval: 50 * time.Millisecond}
			a := newTestStore(t, root, opts)
			b := newTestStore(t, root, opts)
			c := context.Background()
			idle, err := a.OpenMailbox(c, store.Inbox, store.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
			other, err := b.OpenMailbox(c, store.Inbox, store.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			res, err := other.Append(c, strings.NewReader("Subject: x\n\n"), store.AppendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ch := pollUntil(t, idle, 1)
			if ch[0].Kind != store.ChangeNew || ch[0].UID != res.UID {
				t.Fatalf("new: %+v", ch)
			}
			if _, _, err := other.SetFlags(c, store.UIDSetOf(res.UID), store.FlagsAdd, store.Flags{System: store.Seen | store.Deleted}, 0); err != nil {
				t.Fatal(err)
			}
			ch = pollUntil(t, idle, 1)
			if ch[0].Kind != store.ChangeFlags || ch[0].Message.Flags.System != store.Seen|store.Deleted || ch[0].Message.ModSeq == 0 {
				t.Fatalf("flags: %+v", ch)
			}
			if _, err := other.Expunge(c, nil); err != nil {
				t.Fatal(err)
			}
			ch = pollUntil(t, idle, 1)
			if ch[0].Kind != store.ChangeExpunge || ch[0].UID != res.UID {
				t.Fatalf("expunge: %+v", ch)
			}
		})
	}
}

// TestDovecotChangesNotify: doveadm changes to a Maildir a yubin session
// is idling on are noticed (IMAP IDLE's path).
func TestDovecotChangesNotify(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	root := dovecotHome(t, d)
	s := newTestStore(t, root, Options{})
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	d.Doveadm(t, []byte("Subject: from dovecot\n\nhello\n"), "save", "-u", "alice")
	ch := pollUntil(t, mb, 1)
	if ch[0].Kind != store.ChangeNew || ch[0].UID != 1 || !ch[0].Message.Recent {
		t.Fatalf("new: %+v", ch)
	}
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Flagged $Important`, "mailbox", "INBOX", "uid", "1")
	// Dovecot renames the file before it names the new keyword in
	// dovecot-keywords: a first change may carry the flag alone, a
	// second one then adds the keyword.
	for k := 0; ; k++ {
		ch = pollUntil(t, mb, 1)
		last := ch[len(ch)-1]
		if last.Kind != store.ChangeFlags || last.Message.Flags.System != store.Flagged {
			t.Fatalf("flags: %+v", ch)
		}
		if normFlags(last.Message.Flags.Keywords) == "$important" {
			break
		}
		if k == 1 {
			t.Fatalf("keyword never reported: %+v", ch)
		}
	}
	d.Doveadm(t, nil, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", "1")
	ch = pollUntil(t, mb, 1)
	if ch[0].Kind != store.ChangeExpunge || ch[0].UID != 1 {
		t.Fatalf("expunge: %+v", ch)
	}
}

func TestQuota(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{QuotaStorage: 100, QuotaMessages: 3})
	c := context.Background()
	mb, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb.Close()
	msg := strings.Repeat("x", 39) + "\n" // 40 bytes
	if _, err := mb.Append(c, strings.NewReader(msg), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(c, "Other", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(c, "Other", strings.NewReader(msg), store.AppendOptions{Flags: store.Flags{System: store.Deleted}}); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Append(c, strings.NewReader(msg), store.AppendOptions{}); !errors.Is(err, store.ErrQuotaExceeded) {
		t.Fatalf("third append: %v", err)
	}
	q, _ := s.Quota(c)
	if q.StorageUsed != 80 || q.MessagesUsed != 2 || q.StorageLimit != 100 || q.MessagesLimit != 3 || !q.Exceeds(40) {
		t.Fatalf("quota %+v", q)
	}
	data, _ := os.ReadFile(filepath.Join(root, "maildirsize"))
	if !strings.HasPrefix(string(data), "100S,3C\n") {
		t.Fatalf("maildirsize %q", data)
	}
	other, _ := s.OpenMailbox(c, "Other", store.OpenOptions{})
	defer other.Close()
	if _, err := other.Expunge(c, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Append(c, strings.NewReader(msg), store.AppendOptions{}); err != nil {
		t.Fatalf("append after expunge freed space: %v", err)
	}
	// Limits changed: recalculated from the folders.
	s2 := newTestStore(t, root, Options{QuotaStorage: 1000})
	q, _ = s2.Quota(c)
	if q.StorageUsed != 80 || q.MessagesUsed != 2 {
		t.Fatalf("recalculated quota %+v", q)
	}
	data, _ = os.ReadFile(filepath.Join(root, "maildirsize"))
	if string(data) != "1000S\n80 2\n" {
		t.Fatalf("maildirsize %q", data)
	}
}

func TestAutoMailboxes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	auto := append(store.DefaultAutoMailboxes(), store.AutoMailbox{Name: "Archive", SpecialUse: store.SpecialArchive, Auto: store.AutoCreate}, store.AutoMailbox{Name: "Later", SpecialUse: store.SpecialFlagged})
	s := newTestStore(t, root, Options{AutoMailboxes: auto})
	c := context.Background()
	l := map[string]store.MailboxInfo{}
	list, _ := s.ListMailboxes(c)
	for _, mi := range list {
		l[mi.Name] = mi
	}
	for _, n := range []string{"Drafts", "Junk", "Trash", "Sent"} {
		if !l[n].Subscribed || l[n].SpecialUse == "" {
			t.Fatalf("%s: %+v", n, l[n])
		}
	}
	if a := l["Archive"]; a.SpecialUse != store.SpecialArchive || a.Subscribed {
		t.Fatalf("Archive: %+v", a)
	}
	if _, ok := l["Later"]; ok {
		t.Fatal("auto=no mailbox created")
	}
	// A user who unsubscribed stays unsubscribed on the next open.
	s.Unsubscribe(c, "Junk")
	s2 := newTestStore(t, root, Options{AutoMailboxes: auto})
	subs, _ := s2.Subscriptions(c)
	if strings.Contains(strings.Join(subs, ","), "Junk") {
		t.Fatalf("Junk resubscribed: %v", subs)
	}
}

func TestRecent(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	c := context.Background()
	if _, err := s.Deliver(c, store.Inbox, strings.NewReader("Subject: 1\n\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Status(c, store.Inbox); st.Recent != 1 {
		t.Fatalf("status recent %d", st.Recent)
	}
	ro, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
	defer ro.Close()
	// A read-only handle (IMAP EXAMINE) shows the message recent
	// without claiming it: a, below, still gets it.
	if st, _ := ro.Status(c); st.Recent != 1 {
		t.Fatalf("read-only handle does not show recent: %+v", st)
	}
	a, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer a.Close()
	b, _ := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer b.Close()
	sa, _ := a.Status(c)
	sb, _ := b.Status(c)
	if sa.Recent != 1 || sb.Recent != 0 {
		t.Fatalf("recent a=%d b=%d", sa.Recent, sb.Recent)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "new")); len(ents) != 0 {
		t.Fatalf("new/ not emptied by the first session: %v", ents)
	}
	// Reopened by another process: already seen, not recent again.
	a.Close()
	s.Close()
	s2 := newTestStore(t, root, Options{})
	if st, _ := s2.Status(c, store.Inbox); st.Recent != 0 {
		t.Fatalf("recent again after reopen: %+v", st)
	}
}

func TestBackendSharesStore(t *testing.T) {
	dir := t.TempDir()
	b := NewBackend(func(ctx context.Context, user string) (string, error) {
		if user == "nobody-here" {
			return "", store.ErrNoSuchUser
		}
		return filepath.Join(dir, user, "Maildir"), nil
	}, Options{})
	c := context.Background()
	if _, err := b.Open(c, "nobody-here"); !errors.Is(err, store.ErrNoSuchUser) {
		t.Fatalf("unknown user: %v", err)
	}
	s1, err := b.Open(c, "alice")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := b.Open(c, "alice")
	m1, _ := s1.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	m2, _ := s2.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	m1.Append(c, strings.NewReader("Subject: x\n\n"), store.AppendOptions{})
	select {
	case <-m2.Notify():
	case <-time.After(time.Second):
		t.Fatal("sessions of one user do not share notifications")
	}
	m1.Close()
	m2.Close()
	s1.Close()
	s2.Close()
	s2.Close()
	if len(b.stores) != 0 {
		t.Fatalf("stores left open: %d", len(b.stores))
	}
}

// A process that dies without closing anything must not let the next
// one report a lower HIGHESTMODSEQ or reuse modseqs.
func TestModSeqAfterCrash(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	c := context.Background()
	s1, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := s1.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	res, _ := mb.Append(c, strings.NewReader("Subject: x\n\n"), store.AppendOptions{})
	var last uint64
	for i := 0; i < 50; i++ {
		op := store.FlagsAdd
		if i%2 == 1 {
			op = store.FlagsRemove
		}
		upd, _, err := mb.SetFlags(c, store.UIDSetOf(res.UID), op, store.Flags{System: store.Seen}, 0)
		if err != nil || len(upd) != 1 {
			t.Fatal(upd, err)
		}
		last = upd[0].ModSeq
	}
	// No Close: s1 "crashed". A new Store sees a higher HIGHESTMODSEQ.
	s2 := newTestStore(t, root, Options{})
	st, err := s2.Status(c, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if st.HighestModSeq < last {
		t.Fatalf("HIGHESTMODSEQ %d after crash, but %d was handed out", st.HighestModSeq, last)
	}
	mb2, _ := s2.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	defer mb2.Close()
	upd, _, _ := mb2.SetFlags(c, store.UIDSetOf(res.UID), store.FlagsAdd, store.Flags{System: store.Flagged}, 0)
	if len(upd) != 1 || upd[0].ModSeq <= last {
		t.Fatalf("modseq %v reused after crash (last %d)", upd, last)
	}
	mb.Close()
	s1.Close()
}
