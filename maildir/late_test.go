package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// TestDeliverLateUID checks deliveries with LateUID: they return no UID,
// take no uidlist lock and write no uidlist record; concurrent ones all
// arrive; while a handle watches, one gets its UID at once and the handle
// hears of it; and a mailbox opened later has them all, with UIDs after
// the ones that were assigned already.
func TestDeliverLateUID(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	ctx := context.Background()
	if _, err := s.Deliver(ctx, store.Inbox, strings.NewReader("Subject: early\n\n0\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	uidlist := filepath.Join(root, "dovecot-uidlist")
	before, _ := os.ReadFile(uidlist)
	sources := func() []string {
		m, _ := filepath.Glob(filepath.Join(root, "dovecot-uidlist.lock.*"))
		return m
	}
	s.locks.removeAll() // the early delivery's lock source
	var wg sync.WaitGroup
	for i := 1; i <= 9; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Deliver(ctx, store.Inbox, strings.NewReader(fmt.Sprintf("Subject: late %d\n\n%d\n", i, i)), store.AppendOptions{LateUID: true})
			if err != nil {
				t.Error(err)
			} else if res.UID != 0 {
				t.Errorf("late delivery returned UID %d", res.UID)
			}
		}()
	}
	wg.Wait()
	if after, _ := os.ReadFile(uidlist); string(after) != string(before) {
		t.Errorf("late deliveries changed the uidlist:\n%s\nwas:\n%s", after, before)
	}
	if src := sources(); len(src) != 0 {
		t.Errorf("late deliveries took the uidlist lock (sources %v)", src)
	}
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(root, sub))
		n += len(ents)
	}
	if n != 10 {
		t.Fatalf("new/ and cur/ hold %d files, want 10", n)
	}

	// While a handle watches the mailbox, a LateUID delivery is committed
	// with its UID (the watcher would otherwise rescan the folder to
	// adopt it), and the handle hears of it.
	watching, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer watching.Close()
	res, err := s.Deliver(ctx, store.Inbox, strings.NewReader("Subject: late 10\n\n10\n"), store.AppendOptions{LateUID: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.UID != 11 {
		t.Errorf("delivery to a watched mailbox got UID %d, want 11", res.UID)
	}
	heard := false
	for deadline := time.Now().Add(10 * time.Second); !heard && time.Now().Before(deadline); {
		select {
		case <-watching.Notify():
		case <-time.After(100 * time.Millisecond):
		}
		changes, err := watching.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			heard = heard || c.Kind == store.ChangeNew && c.UID == 11
		}
	}
	if !heard {
		t.Fatal("the open handle did not hear of the late delivery as UID 11")
	}

	// A fresh Store on the same directory sees eleven messages, UIDs
	// 1..11, the one delivered with a UID first.
	s2 := newTestStore(t, root, Options{})
	mb, err := s2.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	var uids []uint32
	mb.Messages(ctx, nil, func(mi *store.MessageInfo) error { uids = append(uids, mi.UID); return nil })
	if len(uids) != 11 || uids[0] != 1 || uids[10] != 11 {
		t.Errorf("UIDs after late deliveries: %v", uids)
	}
	if got := readMessage(t, s2, 1); got != "Subject: early\n\n0\n" {
		t.Errorf("UID 1 is %q", got)
	}
}

// TestDovecotReadsLateUIDDelivery delivers with LateUID and lets the real
// Dovecot 2.3 read the Maildir first: it adopts the messages and gives
// them UIDs, and yubin then agrees with it.
func TestDovecotReadsLateUIDDelivery(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	root := dovecotHome(t, d)
	ctx := context.Background()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, store.Inbox, strings.NewReader("Subject: with uid\r\n\r\none\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		if _, err := s.Deliver(ctx, store.Inbox, strings.NewReader(fmt.Sprintf("Subject: late %d\r\n\r\nbody %d\r\n", i, i)), store.AppendOptions{LateUID: true}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	testutil.ChownTree(t, filepath.Dir(root), testutil.PlainUID, testutil.PlainGID)
	got := doveadmMessages(t, d)
	if len(got) != 4 {
		t.Fatalf("Dovecot sees %d messages: %v", len(got), got)
	}
	for i := 2; i <= 4; i++ {
		m, ok := got[fmt.Sprintf("INBOX/%d", i)]
		if !ok || !strings.Contains(m.Body, fmt.Sprintf("body %d", i)) {
			t.Errorf("Dovecot's UID %d: %+v", i, m)
		}
	}
	s2, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	compareMessages(t, yubinMessages(t, s2), got)
}
