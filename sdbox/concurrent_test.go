package sdbox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestDovecotConcurrentWriters: yubin and Dovecot (doveadm save and
// flags) write the same sdbox INBOX at the same time; Dovecot's log lock
// keeps them apart, every message gets its own UID, and both then see
// the same messages and flags, with yubin's open handle catching up on
// Dovecot's appends through Poll.
func TestDovecotConcurrentWriters(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	c := context.Background()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if _, err := mb.Append(c, strings.NewReader("Subject: first\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	const yubinN, dovecotN = 30, 12
	var wg sync.WaitGroup
	errs := make(chan error, dovecotN+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < dovecotN; i++ {
			if out, err := d.DoveadmErr([]byte(fmt.Sprintf("Subject: dovecot %d\n\nbody\n", i)), "save", "-u", "alice"); err != nil {
				errs <- fmt.Errorf("doveadm save: %v: %s", err, out)
				return
			}
			if out, err := d.DoveadmErr(nil, "flags", "add", "-u", "alice", `\Answered`, "mailbox", "INBOX", "uid", "1"); err != nil {
				errs <- fmt.Errorf("doveadm flags: %v: %s", err, out)
				return
			}
		}
	}()
	var uids []uint32
	for i := 0; i < yubinN; i++ {
		res, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: yubin %d\r\n\r\nbody\r\n", i)), store.AppendOptions{Flags: store.Flags{Keywords: []string{"yubin"}}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UID)
		if i%5 == 0 {
			if _, _, err := mb.SetFlags(c, store.UIDSetOf(res.UID), store.FlagsAdd, store.Flags{System: store.Flagged}, 0); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(25 * time.Millisecond) // spread over the time of Dovecot's writes
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := 1; i < len(uids); i++ {
		if uids[i] <= uids[i-1] {
			t.Fatalf("yubin's UIDs not ascending: %v", uids)
		}
	}
	if _, err := mb.Poll(c); err != nil {
		t.Fatal(err)
	}
	if n := len(uidsIn(t, mb)); n != 1+yubinN+dovecotN {
		t.Errorf("handle sees %d messages after Poll, want %d", n, 1+yubinN+dovecotN)
	}
	want := doveadmFetch(t, d, store.Inbox, true)
	if len(want) != 1+yubinN+dovecotN {
		t.Errorf("dovecot sees %d messages, want %d", len(want), 1+yubinN+dovecotN)
	}
	compareMessages(t, "after concurrent writers", want, yubinFetch(t, s, store.Inbox, true))
}

// TestDovecotWaitsForYubinLock: while yubin holds the log lock, a
// Dovecot writer (doveadm flags) waits, and goes on once it is released.
func TestDovecotWaitsForYubinLock(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	c := context.Background()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if _, err := mb.Append(c, strings.NewReader("Subject: x\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	h := mb.(*Mailbox).h
	tx, err := h.begin(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.DoveadmErr(nil, "flags", "add", "-u", "alice", `\Seen`, "mailbox", "INBOX", "uid", "1")
		done <- err
	}()
	select {
	case err := <-done:
		tx.abort()
		t.Fatalf("doveadm finished while yubin held the lock: %v", err)
	case <-time.After(700 * time.Millisecond):
	}
	tx.abort()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("doveadm after the lock was released: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("doveadm still waiting after the lock was released")
	}
	if ch, err := mb.Poll(c); err != nil || len(ch) != 1 || ch[0].Message.Flags.System != store.Seen {
		t.Fatalf("poll after doveadm: %+v %v", ch, err)
	}
}

// TestDovecotSeesYubinMailboxChanges: mailboxes yubin creates, renames
// and deletes after Dovecot has listed (and cached in its list index)
// the tree show up in Dovecot's LIST as they are; and the reverse.
func TestDovecotSeesYubinMailboxChanges(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	c := context.Background()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range []string{"Old", "Gone", "Keep/Child"} {
		if err := s.CreateMailbox(c, n, store.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list := func() string { return doveadm(t, d, "mailbox", "list", "-u", "alice") }
	if l := list(); !strings.Contains(l, "Old") || !strings.Contains(l, "Keep/Child") {
		t.Fatalf("dovecot list %q", l)
	}
	if err := s.RenameMailbox(c, "Old", "New/Name"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMailbox(c, "Gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(c, "Fresh", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l := "\n" + list()
	for _, n := range []string{"\nNew/Name\n", "\nFresh\n", "\nKeep/Child\n"} {
		if !strings.Contains(l, n) {
			t.Errorf("dovecot list lacks %q: %q", n, l)
		}
	}
	for _, n := range []string{"\nOld\n", "\nGone\n"} {
		if strings.Contains(l, n) {
			t.Errorf("dovecot list still has %q: %q", n, l)
		}
	}
	doveadm(t, d, "mailbox", "create", "-u", "alice", "FromDovecot/Sub")
	doveadm(t, d, "mailbox", "delete", "-u", "alice", "Fresh")
	got, err := s.ListMailboxes(c)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mi := range got {
		names[mi.Name] = !mi.NoSelect
	}
	if !names["FromDovecot/Sub"] || names["Fresh"] {
		t.Errorf("yubin lists %v", names)
	}
	if _, err := s.Status(c, "FromDovecot/Sub"); err != nil {
		t.Errorf("status of Dovecot's mailbox: %v", err)
	}
}
