package pgstore_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// firstLine is a stand-in for IMAP's envelope builder: the data derived
// at append time is the message's first line.
func firstLine(r io.ReaderAt, size int64) (map[string][]byte, error) {
	l, _ := bufio.NewReader(io.NewSectionReader(r, 0, size)).ReadString('\n')
	return map[string][]byte{"test.first": []byte(strings.TrimSpace(l))}, nil
}

// TestMessageData: data derived at append time is returned for the
// message and its copies (stored once, by content), SetMessageData adds
// a name, and the collector drops it with the body.
func TestMessageData(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{Derive: firstLine, BlobGrace: time.Millisecond})
	s := userStore(t, b, "u")
	s.CreateMailbox(bg(t), "Copies", store.CreateOptions{})
	mb := openBox(t, s, store.Inbox)
	r1, _ := mb.Append(bg(t), strings.NewReader("Subject: one\r\n\r\nx\r\n"), store.AppendOptions{})
	r2, _ := mb.Append(bg(t), strings.NewReader("Subject: two\r\n\r\nx\r\n"), store.AppendOptions{})
	mds, ok := mb.(store.MessageDataStore)
	if !ok {
		t.Fatal("pgstore Mailbox does not implement store.MessageDataStore")
	}
	got := map[uint32]string{}
	if err := mds.MessageData(bg(t), nil, "test.first", func(uid uint32, d []byte) error { got[uid] = string(d); return nil }); err != nil {
		t.Fatal(err)
	}
	if got[r1.UID] != "Subject: one" || got[r2.UID] != "Subject: two" {
		t.Fatalf("derived data %v", got)
	}
	cp, err := mb.Copy(bg(t), store.UIDSetOf(r2.UID), "Copies")
	if err != nil {
		t.Fatal(err)
	}
	copies := openBox(t, s, "Copies").(store.MessageDataStore)
	var n int
	copies.MessageData(bg(t), store.UIDSetOf(cp.DestUIDs[0]), "test.first", func(uid uint32, d []byte) error {
		n++
		if string(d) != "Subject: two" {
			t.Errorf("copy's data %q", d)
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("copy has %d data entries", n)
	}
	if err := mds.SetMessageData(bg(t), r1.UID, "imap.envelope", []byte(`("date" "one")`)); err != nil {
		t.Fatal(err)
	}
	if err := mds.SetMessageData(bg(t), 999, "imap.envelope", nil); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("data for a missing message: %v", err)
	}
	if err := mds.SetMessageData(bg(t), r1.UID, "bad name", nil); err == nil {
		t.Fatal("a name with a space accepted")
	}
	mb.SetFlags(bg(t), nil, store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	mb.Expunge(bg(t), nil)
	time.Sleep(10 * time.Millisecond)
	if _, err := b.CollectGarbage(bg(t)); err != nil {
		t.Fatal(err)
	}
	if out, _ := c.Exec(db, "SELECT count(*) FROM pgstore_body_data"); strings.TrimSpace(out) != "1" {
		t.Fatalf("derived data rows after GC: %q, want 1 (the copy's)", out)
	}
}

// TestMigrationSteps: a database at schema version 1 is brought to the
// current version by the next Open, step by step.
func TestMigrationSteps(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	openBackend(t, c.ConnString(db), pgstore.Options{}).Close()
	if out, err := c.Exec(db, "DROP TABLE pgstore_body_data; UPDATE pgstore_schema SET version = 1;"); err != nil {
		t.Fatal(err, out)
	}
	openBackend(t, c.ConnString(db), pgstore.Options{}).Close()
	out, _ := c.Exec(db, "SELECT version FROM pgstore_schema; SELECT count(*) FROM pgstore_body_data;")
	if strings.Fields(out)[0] != strconv.Itoa(pgstore.SchemaVersion) || len(strings.Fields(out)) != 2 {
		t.Fatalf("after migration: %q", out)
	}
}

// TestMessageDataManyUIDs: asked for more UIDs than it sends as a list
// (a SORT of a whole mailbox), MessageData asks by range and still
// returns exactly the messages of the handle's view, each with its own
// data.
func TestMessageDataManyUIDs(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{Derive: firstLine})
	s := userStore(t, b, "u")
	mb := openBox(t, s, store.Inbox)
	const n = 1100
	want := map[uint32]string{}
	var gone store.UIDSet
	for i := range n {
		r, err := mb.Append(bg(t), strings.NewReader(fmt.Sprintf("Subject: m%d\r\n\r\nx\r\n", i)), store.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i%100 == 7 {
			gone.Add(r.UID)
			continue
		}
		want[r.UID] = fmt.Sprintf("Subject: m%d", i)
	}
	mb.SetFlags(bg(t), gone, store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	if _, err := mb.Expunge(bg(t), gone); err != nil {
		t.Fatal(err)
	}
	got := map[uint32]string{}
	err := mb.(store.MessageDataStore).MessageData(bg(t), nil, "test.first", func(uid uint32, d []byte) error {
		if _, dup := got[uid]; dup {
			t.Errorf("UID %d twice", uid)
		}
		got[uid] = string(d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for uid, w := range want {
		if got[uid] != w {
			t.Fatalf("UID %d: %q, want %q", uid, got[uid], w)
		}
	}
}

// TestMessageDataDelivered: data derived for deliveries (which commit
// in batches) are kept with each delivered message.
func TestMessageDataDelivered(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{Derive: firstLine})
	s := userStore(t, b, "u")
	var wg sync.WaitGroup
	uids := make([]uint32, 8)
	for i := range uids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.(*pgstore.Store).Deliver(bg(t), store.Inbox, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)), store.AppendOptions{LateUID: true})
			if err != nil {
				t.Error(err)
			}
			uids[i] = r.UID
		}()
	}
	wg.Wait()
	got := map[uint32]string{}
	mds := openBox(t, s, store.Inbox).(store.MessageDataStore)
	if err := mds.MessageData(bg(t), nil, "test.first", func(uid uint32, d []byte) error { got[uid] = string(d); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, uid := range uids {
		if want := fmt.Sprintf("Subject: %d", i); got[uid] != want {
			t.Errorf("delivery %d (UID %d): data %q, want %q", i, uid, got[uid], want)
		}
	}
}
