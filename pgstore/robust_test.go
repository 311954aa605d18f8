package pgstore_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// TestSchemaNewerRefused: a database migrated by a newer binary makes
// Open fail with a message that says so, and changes nothing.
func TestSchemaNewerRefused(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	openBackend(t, c.ConnString(db), pgstore.Options{}).Close()
	if out, err := c.Exec(db, "UPDATE pgstore_schema SET version = version + 1"); err != nil {
		t.Fatal(err, out)
	}
	_, err := pgstore.Open(bg(t), c.ConnString(db), pgstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

// TestDatabaseStalled: with the database stopped (SIGSTOP: connections
// open, nothing answers), operations fail with store.ErrTemporary within
// the OpTimeout instead of hanging, and work again once it resumes.
func TestDatabaseStalled(t *testing.T) {
	c := cluster.Get(t)
	conn := c.ConnString(c.NewDatabase(t))
	b := openBackend(t, conn, pgstore.Options{OpTimeout: time.Second})
	s := userStore(t, b, "u")
	mb := openBox(t, s, store.Inbox)
	if _, err := mb.Append(bg(t), strings.NewReader("Subject: a\r\n\r\nb\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	resume := c.Suspend(t)
	start := time.Now()
	_, err := mb.Append(bg(t), strings.NewReader("Subject: b\r\n\r\nb\r\n"), store.AppendOptions{})
	if !errors.Is(err, store.ErrTemporary) {
		t.Fatalf("append to a stalled database: %v, want ErrTemporary", err)
	}
	if _, err := s.Status(bg(t), store.Inbox); !errors.Is(err, store.ErrTemporary) {
		t.Fatalf("status: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("two operations took %v with a 1s OpTimeout", d)
	}
	resume()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := mb.Append(bg(t), strings.NewReader("Subject: c\r\n\r\nb\r\n"), store.AppendOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after resume: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMissingBody: a row whose body vanished from the blob store is
// reported on Open (ErrNoSuchMessage) while the mailbox still opens and
// the other messages read.
func TestMissingBody(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{})
	mb := openBox(t, userStore(t, b, "u"), store.Inbox)
	lost, _ := mb.Append(bg(t), strings.NewReader("Subject: lost\r\n\r\nx\r\n"), store.AppendOptions{})
	kept, _ := mb.Append(bg(t), strings.NewReader("Subject: kept\r\n\r\nx\r\n"), store.AppendOptions{})
	if out, err := c.Exec(db, "DELETE FROM pgstore_blobs WHERE key = '"+blob.Key([]byte("Subject: lost\r\n\r\nx\r\n"))+"'"); err != nil {
		t.Fatal(err, out)
	}
	mb2 := openBox(t, userStore(t, b, "u"), store.Inbox)
	if st, err := mb2.Status(bg(t)); err != nil || st.Messages != 2 {
		t.Fatalf("status %+v %v", st, err)
	}
	if _, err := mb2.Open(bg(t), lost.UID); !errors.Is(err, store.ErrNoSuchMessage) {
		t.Fatalf("open lost body: %v", err)
	}
	r, err := mb2.Open(bg(t), kept.UID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if body, _ := io.ReadAll(r); string(body) != "Subject: kept\r\n\r\nx\r\n" {
		t.Fatalf("kept body %q", body)
	}
}

// TestSQLInjectionNames: user names, mailbox names and keywords made of
// SQL are stored and returned as text, and the tables survive.
func TestSQLInjectionNames(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{})
	evil := []string{`x'; DROP TABLE pgstore_messages; --`, `a" OR "1"="1`, `'||(SELECT pg_sleep(5))||'`, `$1; DELETE FROM pgstore_users`}
	other := userStore(t, b, "bystander")
	ob := openBox(t, other, store.Inbox)
	ob.Append(bg(t), strings.NewReader("Subject: safe\r\n\r\nx\r\n"), store.AppendOptions{})
	for _, name := range evil {
		s := userStore(t, b, name)
		start := time.Now()
		if err := s.CreateMailbox(bg(t), name, store.CreateOptions{}); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("a name ran SQL (pg_sleep)")
		}
		mb := openBox(t, s, name)
		kw := strings.NewReplacer(" ", "", "(", "", ")", "", `"`, "", "%", "", "*", "", `\`, "", "]", "", "{", "").Replace(name)
		if _, err := mb.Append(bg(t), strings.NewReader("Subject: e\r\n\r\nx\r\n"), store.AppendOptions{Flags: store.Flags{Keywords: []string{kw}}}); err != nil {
			t.Fatalf("append with keyword %q: %v", kw, err)
		}
		if err := s.Subscribe(bg(t), name); err != nil {
			t.Fatal(err)
		}
		if err := s.RenameMailbox(bg(t), name, name+"2"); err != nil {
			t.Fatal(err)
		}
		list, _ := s.ListMailboxes(bg(t))
		found := false
		for _, mi := range list {
			found = found || mi.Name == name+"2"
		}
		if !found {
			t.Fatalf("renamed %q not listed: %+v", name, list)
		}
		mb2 := openBox(t, s, name+"2")
		var got []string
		mb2.Messages(bg(t), nil, func(mi *store.MessageInfo) error { got = mi.Flags.Keywords; return nil })
		if len(got) != 1 || got[0] != kw {
			t.Fatalf("keyword %q came back as %v", kw, got)
		}
	}
	if st, err := other.Status(bg(t), store.Inbox); err != nil || st.Messages != 1 {
		t.Fatalf("bystander after injection attempts: %+v %v", st, err)
	}
	if out, _ := c.Exec(db, "SELECT count(*) FROM pgstore_users"); strings.TrimSpace(out) != "5" {
		t.Fatalf("users table: %q", out)
	}
}

// TestGCAfterExpunge: an expunged message's body is collected after
// the grace period, a body still named by a copy is kept, and a body
// put again by an append racing the collector is never lost.
func TestGCAfterExpunge(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{BlobGrace: time.Millisecond})
	s := userStore(t, b, "u")
	s.CreateMailbox(bg(t), "Keep", store.CreateOptions{})
	mb := openBox(t, s, store.Inbox)
	gone, _ := mb.Append(bg(t), strings.NewReader("Subject: gone\r\n\r\nx\r\n"), store.AppendOptions{Flags: store.Flags{System: store.Deleted}})
	shared, _ := mb.Append(bg(t), strings.NewReader("Subject: shared\r\n\r\nx\r\n"), store.AppendOptions{})
	if _, err := mb.Copy(bg(t), store.UIDSetOf(shared.UID), "Keep"); err != nil {
		t.Fatal(err)
	}
	mb.SetFlags(bg(t), store.UIDSetOf(shared.UID), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	if got, _ := mb.Expunge(bg(t), nil); len(got) != 2 {
		t.Fatalf("expunged %v (gone %d)", got, gone.UID)
	}
	time.Sleep(20 * time.Millisecond)
	st, err := b.CollectGarbage(bg(t))
	if err != nil || st.Blobs != 1 {
		t.Fatalf("gc: %+v %v", st, err)
	}
	if _, err := b.Blobs().Open(bg(t), blob.Key([]byte("Subject: gone\r\n\r\nx\r\n"))); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("collected body still there: %v", err)
	}
	keep := openBox(t, s, "Keep")
	var uid uint32
	keep.Messages(bg(t), nil, func(mi *store.MessageInfo) error { uid = mi.UID; return nil })
	if r, err := keep.Open(bg(t), uid); err != nil {
		t.Fatalf("copy's body collected: %v", err)
	} else {
		r.Close()
	}
	raceGC(t, b, mb)
	// The streamed path (body spooled to a file, Put, then the row).
	b2 := openBackend(t, c.ConnString(db), pgstore.Options{BlobGrace: time.Millisecond, SpoolMemory: 8})
	raceGC(t, b2, openBox(t, userStore(t, b2, "u"), store.Inbox))
}

// raceGC appends one body again and again while the collector runs and
// every other copy is expunged at once: every acknowledged message
// reads back.
func raceGC(t *testing.T, b *pgstore.Backend, mb store.Mailbox) {
	body := "Subject: race\r\n\r\nsame body\r\n"
	ctx, cancel := context.WithCancel(bg(t))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			b.CollectGarbage(ctx)
		}
	}()
	var uids []uint32
	for i := 0; i < 24; i++ {
		res, err := mb.Append(bg(t), strings.NewReader(body), store.AppendOptions{Flags: store.Flags{System: store.Deleted}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UID)
		if i%2 == 0 {
			// Expunge it at once: the body becomes garbage while the
			// next append puts it again.
			mb.Expunge(bg(t), store.UIDSetOf(res.UID))
			uids = uids[:len(uids)-1]
		}
	}
	cancel()
	<-done
	for _, u := range uids {
		r, err := mb.Open(bg(t), u)
		if err != nil {
			t.Fatalf("UID %d lost its body to the collector: %v", u, err)
		}
		r.Close()
	}
}

// TestEmptyAndChunkEdges: bodies of 0 bytes, exactly one chunk and one
// byte over (the inline and the streamed append paths) read back.
func TestEmptyAndChunkEdges(t *testing.T) {
	c := cluster.Get(t)
	b := openBackend(t, c.ConnString(c.NewDatabase(t)), pgstore.Options{SpoolMemory: 512 << 10})
	mb := openBox(t, userStore(t, b, "u"), store.Inbox)
	for _, n := range []int{0, 256 << 10, 256<<10 + 1} {
		body := strings.Repeat("x", n)
		res, err := mb.Append(bg(t), strings.NewReader(body), store.AppendOptions{})
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		r, err := mb.Open(bg(t), res.UID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != body {
			t.Fatalf("%d bytes read back as %d", n, len(got))
		}
	}
}

// TestGCInAppendWindow places a collection exactly between an append's
// Put and its commit, for a body that was garbage (its earlier message
// expunged): the collector deletes it, the append notices (the
// reference row's epoch changed), stores it again, and the message
// reads back.
func TestGCInAppendWindow(t *testing.T) {
	c := cluster.Get(t)
	b := openBackend(t, c.ConnString(c.NewDatabase(t)), pgstore.Options{BlobGrace: time.Millisecond, SpoolMemory: 8})
	mb := openBox(t, userStore(t, b, "u"), store.Inbox)
	body := "Subject: window\r\n\r\nthe same body twice\r\n"
	mb.Append(bg(t), strings.NewReader(body), store.AppendOptions{Flags: store.Flags{System: store.Deleted}})
	if got, _ := mb.Expunge(bg(t), nil); len(got) != 1 {
		t.Fatal("expunge")
	}
	collected := 0
	pgstore.SetTestHookBeforeCommit(b, func() {
		pgstore.SetTestHookBeforeCommit(b, nil)
		time.Sleep(5 * time.Millisecond)
		st, err := b.CollectGarbage(bg(t))
		if err != nil {
			t.Error(err)
		}
		collected = st.Blobs
	})
	res, err := mb.Append(bg(t), strings.NewReader(body), store.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if collected != 1 {
		t.Fatalf("the collector in the window removed %d bodies, want 1 (the race did not happen)", collected)
	}
	r, err := mb.Open(bg(t), res.UID)
	if err != nil {
		t.Fatalf("body lost to a collection between Put and commit: %v", err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); string(got) != body {
		t.Fatalf("read back %q", got)
	}
}

// TestQuota: appends and copies beyond Options.QuotaMessages or
// QuotaStorage fail with store.ErrQuotaExceeded; Quota reports usage
// and limits; moves are not refused (they add nothing).
func TestQuota(t *testing.T) {
	b := openBackend(t, newDB(t), pgstore.Options{QuotaMessages: 3, QuotaStorage: 1000})
	s := userStore(t, b, "u")
	s.CreateMailbox(bg(t), "Other", store.CreateOptions{})
	mb := openBox(t, s, store.Inbox)
	var uids []uint32
	for i := 0; i < 3; i++ {
		res, err := mb.Append(bg(t), strings.NewReader("Subject: q\r\n\r\nx\r\n"), store.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, res.UID)
	}
	if _, err := mb.Append(bg(t), strings.NewReader("Subject: q\r\n\r\nx\r\n"), store.AppendOptions{}); !errors.Is(err, store.ErrQuotaExceeded) {
		t.Fatalf("4th message: %v", err)
	}
	if _, err := mb.Copy(bg(t), store.UIDSetOf(uids[0]), "Other"); !errors.Is(err, store.ErrQuotaExceeded) {
		t.Fatalf("copy over quota: %v", err)
	}
	if _, err := mb.Move(bg(t), store.UIDSetOf(uids[0]), "Other"); err != nil {
		t.Fatalf("move at quota: %v", err)
	}
	q, err := s.Quota(bg(t))
	if err != nil || q.MessagesUsed != 3 || q.MessagesLimit != 3 || q.StorageLimit != 1000 || q.StorageUsed != 3*17 {
		t.Fatalf("quota %+v %v", q, err)
	}
	b2 := openBackend(t, newDB(t), pgstore.Options{QuotaStorage: 100})
	mb2 := openBox(t, userStore(t, b2, "u"), store.Inbox)
	if _, err := mb2.Append(bg(t), strings.NewReader(strings.Repeat("x", 101)), store.AppendOptions{}); !errors.Is(err, store.ErrQuotaExceeded) {
		t.Fatalf("over storage: %v", err)
	}
}
