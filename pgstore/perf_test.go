package pgstore_test

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// TestLargeMailboxOpen measures what IMAP SELECT and FETCH 1:* (FLAGS)
// cost a session on a 100,000-message mailbox: OpenMailbox, Status and
// one pass of Messages over all. The rows are made in SQL (the bodies
// do not matter here). A measurement: it runs with YUBIN_PGSTORE_BENCH=1.
func TestLargeMailboxOpen(t *testing.T) {
	if os.Getenv("YUBIN_PGSTORE_BENCH") != "1" {
		t.Skip("a measurement: set YUBIN_PGSTORE_BENCH=1")
	}
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{})
	s := userStore(t, b, "big")
	mb := openBox(t, s, store.Inbox)
	if _, err := mb.Append(bg(t), strings.NewReader("Subject: x\r\n\r\ny\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 100000
	sql := fmt.Sprintf(`INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
		SELECT m.mailbox_id, m.uid + g, m.modseq, g %% 3, CASE WHEN g %% 10 = 0 THEN '{$Important}'::text[] ELSE '{}' END,
			m.internal_date, m.save_date, m.size, md5(g::text), m.blob_key
		FROM pgstore_messages m, generate_series(1, %d) g;
		UPDATE pgstore_mailboxes SET uidnext = uidnext + %d, messages = messages + %d WHERE name = 'INBOX';`, n-1, n-1, n-1)
	if out, err := c.Exec(db, sql); err != nil {
		t.Fatal(err, out)
	}
	for round := 0; round < 3; round++ {
		cpu0 := cpuTime()
		start := time.Now()
		h, err := s.OpenMailbox(bg(t), store.Inbox, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := h.Status(bg(t))
		if err != nil || st.Messages != n {
			t.Fatalf("status %+v %v", st, err)
		}
		selected := time.Since(start)
		count := 0
		h.Messages(bg(t), nil, func(mi *store.MessageInfo) error { count++; _ = mi.Flags.System.Names(); return nil })
		all := time.Since(start)
		h.Close()
		if count != n {
			t.Fatalf("%d messages", count)
		}
		t.Logf("100,000 messages: open+status %v, + all flags %v wall; this process's CPU %v (machine load: wall times are noisy)", selected, all, cpuTime()-cpu0)
	}
}

// cpuTime is the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLargeMailboxMessageData measures what the first SORT of a
// 100,000-message mailbox costs pgstore: MessageData over every
// message (the sort keys stored at append). The rows are made in SQL,
// all sharing one body and its data. A measurement: it runs with
// YUBIN_PGSTORE_BENCH=1.
func TestLargeMailboxMessageData(t *testing.T) {
	if os.Getenv("YUBIN_PGSTORE_BENCH") != "1" {
		t.Skip("a measurement: set YUBIN_PGSTORE_BENCH=1")
	}
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	keys := strings.Repeat("k", 120) // about the size of one message's sort keys
	b := openBackend(t, c.ConnString(db), pgstore.Options{Derive: func(io.ReaderAt, int64) (map[string][]byte, error) {
		return map[string][]byte{"bench.keys": []byte(keys)}, nil
	}})
	s := userStore(t, b, "big")
	mb := openBox(t, s, store.Inbox)
	if _, err := mb.Append(bg(t), strings.NewReader("Subject: x\r\n\r\ny\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 100000
	sql := fmt.Sprintf(`INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
		SELECT m.mailbox_id, m.uid + g, m.modseq, 0, '{}', m.internal_date, m.save_date, m.size, md5(g::text), m.blob_key
		FROM pgstore_messages m, generate_series(1, %d) g;
		UPDATE pgstore_mailboxes SET uidnext = uidnext + %d, messages = messages + %d WHERE name = 'INBOX';
		ANALYZE;`, n-1, n-1, n-1)
	if out, err := c.Exec(db, sql); err != nil {
		t.Fatal(err, out)
	}
	h, err := s.OpenMailbox(bg(t), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.Messages(bg(t), nil, func(*store.MessageInfo) error { return nil }) // the view, as SELECT reads it
	for round := 0; round < 5; round++ {
		cpu0, db0 := cpuTime(), c.CPUTime()
		start := time.Now()
		count, bytes := 0, 0
		err := h.(store.MessageDataStore).MessageData(bg(t), nil, "bench.keys", func(uid uint32, data []byte) error {
			count++
			bytes += len(data)
			return nil
		})
		if err != nil || count != n || bytes != n*len(keys) {
			t.Fatalf("MessageData: %d messages, %d bytes, %v", count, bytes, err)
		}
		t.Logf("MessageData of 100,000 messages: %v wall; this process's CPU %v, PostgreSQL's %v", time.Since(start), cpuTime()-cpu0, c.CPUTime()-db0)
	}
}
