package pgstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// TestJournalPrunedResync: a handle whose journal entries were pruned
// (it did not poll for longer than JournalRetention) is brought up to
// date from the message table: the expunge, the new message and the
// flag change all reach it.
func TestJournalPrunedResync(t *testing.T) {
	conn := newDB(t)
	b := openBackend(t, conn, pgstore.Options{JournalRetention: time.Millisecond})
	s := userStore(t, b, "u")
	old := openBox(t, s, store.Inbox)
	act := openBox(t, s, store.Inbox)
	u1, _ := act.Append(bg(t), strings.NewReader("Subject: 1\r\n\r\nx\r\n"), store.AppendOptions{})
	u2, _ := act.Append(bg(t), strings.NewReader("Subject: 2\r\n\r\nx\r\n"), store.AppendOptions{})
	if st, _ := old.Status(bg(t)); st.Messages != 2 {
		t.Fatalf("old view %+v", st)
	}
	act.SetFlags(bg(t), store.UIDSetOf(u1.UID), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	act.Expunge(bg(t), nil)
	act.SetFlags(bg(t), store.UIDSetOf(u2.UID), store.FlagsAdd, store.Flags{System: store.Flagged}, 0)
	u3, _ := act.Append(bg(t), strings.NewReader("Subject: 3\r\n\r\nx\r\n"), store.AppendOptions{})
	time.Sleep(10 * time.Millisecond)
	if _, err := b.CollectGarbage(bg(t)); err != nil {
		t.Fatal(err)
	}
	ch, err := old.Poll(bg(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Change{{Kind: store.ChangeExpunge, UID: u1.UID}, {Kind: store.ChangeNew, UID: u3.UID}, {Kind: store.ChangeFlags, UID: u2.UID}}
	if len(ch) != len(want) {
		t.Fatalf("resync changes %v", kinds(ch))
	}
	for i := range want {
		if ch[i].Kind != want[i].Kind || ch[i].UID != want[i].UID {
			t.Fatalf("resync changes %v", kinds(ch))
		}
	}
	if ch[2].Message.Flags.System != store.Flagged {
		t.Fatalf("flags %+v", ch[2].Message)
	}
}

// TestListenReconnect: the LISTEN connection is killed by the database
// (pg_terminate_backend); the Backend reconnects, and a handle is
// notified of a change made through another Backend afterwards.
func TestListenReconnect(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	conn := c.ConnString(db)
	ba := openBackend(t, conn, pgstore.Options{})
	bb := openBackend(t, conn, pgstore.Options{})
	a := openBox(t, userStore(t, ba, "u"), store.Inbox)
	w := openBox(t, userStore(t, bb, "u"), store.Inbox)
	a.Status(bg(t))
	if out, err := c.Exec(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"); err != nil || strings.TrimSpace(out) != "2" {
		t.Fatalf("terminate listeners: %q %v", out, err)
	}
	// The reconnect wakes every handle (changes may have been missed).
	waitNotified(t, a, 10*time.Second)
	if ch, err := a.Poll(bg(t)); err != nil || len(ch) != 0 {
		t.Fatalf("poll after reconnect %v %v", kinds(ch), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.Append(bg(t), strings.NewReader("Subject: after\r\n\r\nx\r\n"), store.AppendOptions{})
		select {
		case <-a.Notify():
			if ch, _ := a.Poll(bg(t)); len(ch) == 0 || ch[0].Kind != store.ChangeNew {
				t.Fatalf("poll %v", kinds(ch))
			}
			return
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification after the LISTEN connection was re-established")
		}
	}
}
