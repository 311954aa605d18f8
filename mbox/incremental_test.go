package mbox

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

func fullReads(s *Store, name string) int {
	b, _ := s.box(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fullReads
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return identOf(fi).ino
}

// TestDovecotAppendSyncedIncrementally: Dovecot appending to a mailbox
// yubin has open costs yubin a parse of the new part only; Dovecot's
// flag change in place (same size) a full pass; both are reported.
// yubin's own flag changes on its padded headers are written in place
// (same inode, same size), and Dovecot reads them.
func TestDovecotAppendSyncedIncrementally(t *testing.T) {
	d, home, s, mb := dovecotInbox(t)
	c := context.Background()
	for i := 1; i <= 30; i++ {
		kw := []string{"k1"}
		if i == 1 {
			kw = []string{"k1", "k2", "$Important"}
		}
		if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: y%d\n\nyubin %d\n", i, i)), store.AppendOptions{Flags: store.Flags{Keywords: kw}}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	compareMessages(t, yubinMessages(t, s), doveadmMessages(t, d))
	inbox := s.opts.Inbox

	// Flags in place.
	before, _ := os.Stat(inbox)
	ino := inode(t, inbox)
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(3, 7), store.FlagsAdd, store.Flags{System: store.Seen | store.Answered | store.Flagged, Keywords: []string{"k2", "$Important"}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(1), store.FlagsReplace, store.Flags{System: store.Draft}, 0); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(inbox)
	if inode(t, inbox) != ino || after.Size() != before.Size() {
		t.Errorf("flag change rewrote the file (inode %d -> %d, size %d -> %d)", ino, inode(t, inbox), before.Size(), after.Size())
	}
	compareMessages(t, yubinMessages(t, s), doveadmMessages(t, d))

	// Dovecot appends: parsed incrementally.
	reads := fullReads(s, store.Inbox)
	for i := 0; i < 3; i++ {
		d.Doveadm(t, []byte(fmt.Sprintf("From: d@example.org\nSubject: dovecot %d\n\nbody\n", i)), "save", "-u", "alice")
	}
	changes, err := mb.Poll(c)
	if err != nil {
		t.Fatal(err)
	}
	var news []uint32
	for _, ch := range changes {
		if ch.Kind == store.ChangeNew {
			news = append(news, ch.UID)
		}
	}
	if fmt.Sprint(news) != "[31 32 33]" {
		t.Errorf("new messages after Dovecot's appends: %v (changes %v)", news, changes)
	}
	if n := fullReads(s, store.Inbox) - reads; n != 0 {
		t.Errorf("%d full passes for an append by Dovecot", n)
	}
	compareMessages(t, doveadmMessages(t, d), yubinMessages(t, s))

	// Dovecot changes flags in place: a full pass, the change reported.
	reads = fullReads(s, store.Inbox)
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Seen`, "mailbox", "INBOX", "uid", "10")
	changes, err = mb.Poll(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Kind != store.ChangeFlags || changes[0].UID != 10 || changes[0].Message.Flags.System&store.Seen == 0 {
		t.Errorf("changes after Dovecot's flag change: %+v", changes)
	}
	if fullReads(s, store.Inbox) == reads {
		t.Error("a change in place was not read with a full pass")
	}
	compareMessages(t, doveadmMessages(t, d), yubinMessages(t, s))
}

// TestDovecotConcurrentChanges: yubin and Dovecot change one mbox at the
// same time (appends, flag changes, expunges); their locks keep it
// whole, and afterwards both see the same messages and flags.
func TestDovecotConcurrentChanges(t *testing.T) {
	d, home, s, mb := dovecotInbox(t)
	c := context.Background()
	for i := 1; i <= 10; i++ {
		if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: y%d\n\nyubin %d\n", i, i)), store.AppendOptions{Flags: store.Flags{Keywords: []string{"k"}}}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 15; i++ {
			if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: yc%d\n\nconcurrent %d\n", i, i)), store.AppendOptions{}); err != nil {
				errs <- err
			}
			if _, _, err := mb.SetFlags(c, store.UIDSetOf(uint32(1+i%10)), store.FlagsAdd, store.Flags{System: store.Flagged}, 0); err != nil {
				errs <- err
			}
			if i%5 == 4 {
				uid := uint32(1 + i/5)
				mb.SetFlags(c, store.UIDSetOf(uid), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
				if _, err := mb.Expunge(c, store.UIDSetOf(uid)); err != nil {
					errs <- err
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 8; i++ {
			if out, err := d.DoveadmErr([]byte(fmt.Sprintf("Subject: dc%d\n\ndovecot %d\n", i, i)), "save", "-u", "alice"); err != nil {
				errs <- fmt.Errorf("doveadm save: %v: %s", err, out)
			}
			if out, err := d.DoveadmErr(nil, "flags", "add", "-u", "alice", `\Seen`, "mailbox", "INBOX", "uid", fmt.Sprint(5+i)); err != nil {
				errs <- fmt.Errorf("doveadm flags: %v: %s", err, out)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := mb.Poll(c); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	// A message Dovecot appended to a file yubin had just replaced was
	// moved into the mailbox under a new UID: Dovecot's cache may still
	// hold the UID yubin gave another message, which its first fetch
	// finds out and drops (exit 75).
	if out, err := d.DoveadmErr(nil, "fetch", "-u", "alice", "text", "all"); err != nil {
		t.Logf("first fetch after the concurrent changes: %v\n%s", err, out)
	}
	got := doveadmMessages(t, d)
	if len(got) != 10+15+8-3 {
		t.Errorf("dovecot sees %d messages, want %d", len(got), 10+15+8-3)
	}
	compareMessages(t, got, yubinMessages(t, s))
	// Every message both wrote is there once, whole.
	bodies := map[string]int{}
	for _, m := range got {
		bodies[m.Body]++
	}
	for i := 0; i < 15; i++ {
		if bodies[fmt.Sprintf("Subject: yc%d\n\nconcurrent %d\n", i, i)] != 1 {
			t.Errorf("yubin's message %d: %d copies", i, bodies[fmt.Sprintf("Subject: yc%d\n\nconcurrent %d\n", i, i)])
		}
	}
	for i := 0; i < 8; i++ {
		if bodies[fmt.Sprintf("Subject: dc%d\n\ndovecot %d\n", i, i)] != 1 {
			t.Errorf("Dovecot's message %d: %d copies", i, bodies[fmt.Sprintf("Subject: dc%d\n\ndovecot %d\n", i, i)])
		}
	}
}

// dovecotInbox starts mboxDovecot and opens alice's INBOX in yubin for
// writing (closed at the test's end).
func dovecotInbox(t *testing.T) (*testutil.Dovecot, string, *Store, store.Mailbox) {
	t.Helper()
	d, home := mboxDovecot(t)
	s := openHome(t, home)
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return d, home, s, mb
}
