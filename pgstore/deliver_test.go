package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// TestDeliverGroupCommit: concurrent deliveries to several users share
// transactions (the first batch waits while the others queue; they
// then commit as one), every message gets its own UID in its mailbox, one to a
// missing mailbox fails alone, and the batch's messages are all there.
func TestDeliverGroupCommit(t *testing.T) {
	ctx := context.Background()
	b := openBackend(t, newDB(t), pgstore.Options{})
	sizes := holdFirstBatch(b, 30)
	stores := map[string]*pgstore.Store{}
	for _, u := range []string{"u0", "u1", "u2", "u3"} {
		s, err := b.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		stores[u] = s.(*pgstore.Store)
	}
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			box := store.Inbox
			if i == 7 {
				box = "NoSuchBox"
			}
			_, errs[i] = stores[fmt.Sprintf("u%d", i%4)].Deliver(ctx, box,
				strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)), store.AppendOptions{LateUID: true})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			if !errors.Is(err, store.ErrNoSuchMailbox) {
				t.Errorf("delivery to a missing mailbox: %v", err)
			}
		} else if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	sum, most := 0, 0
	for _, n := range sizes() {
		sum, most = sum+n, max(most, n)
	}
	// The delivery to a missing mailbox fails before it is queued.
	if sum != 31 || len(sizes()) > 2 || most != 30 {
		t.Errorf("batches %v, want [1 30]", sizes())
	}
	total := 0
	for u, s := range stores {
		mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var uids []uint32
		mb.Messages(ctx, nil, func(mi *store.MessageInfo) error { uids = append(uids, mi.UID); return nil })
		mb.Close()
		for i, uid := range uids {
			if uid != uint32(i+1) {
				t.Errorf("%s: UIDs %v", u, uids)
				break
			}
		}
		total += len(uids)
	}
	if total != 31 {
		t.Errorf("%d messages stored, want 31", total)
	}
}

// TestSyncDeliveries: NoSync deliveries are stored at once, and
// SyncDeliveries from concurrent callers flushes through this Backend's
// row (fewer flushes than callers when they overlap).
func TestSyncDeliveries(t *testing.T) {
	ctx := context.Background()
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	b := openBackend(t, c.ConnString(db), pgstore.Options{})
	s, err := b.Open(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.(*pgstore.Store).Deliver(ctx, store.Inbox, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)),
				store.AppendOptions{LateUID: true, NoSync: true}); err != nil {
				t.Error(err)
			}
			if err := b.SyncDeliveries(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	out, err := c.Exec(db, "SELECT count(*), coalesce(sum(n), 0) FROM pgstore_sync; SELECT messages FROM pgstore_mailboxes WHERE name = 'INBOX'")
	if err != nil {
		t.Fatal(err, out)
	}
	f := strings.Fields(strings.ReplaceAll(out, "|", " "))
	if len(f) != 3 || f[0] != "1" || f[1] == "0" || f[2] != "8" {
		t.Fatalf("sync rows, flushes, messages: %q", out)
	}
	t.Logf("8 concurrent SyncDeliveries: %s flushes", f[1])
}

// TestDeliverMissingMailboxKeepsReader: a delivery to a missing mailbox
// fails before reading the message, so the caller can deliver the same
// reader to INBOX instead (LMTP's +detail fallback).
func TestDeliverMissingMailboxKeepsReader(t *testing.T) {
	ctx := context.Background()
	s, err := openBackend(t, newDB(t), pgstore.Options{}).Open(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	msg := "Subject: x\r\n\r\nbody\r\n"
	r := strings.NewReader(msg)
	if _, err := s.(*pgstore.Store).Deliver(ctx, "NoSuchBox", r, store.AppendOptions{}); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Fatalf("delivery to a missing mailbox: %v", err)
	}
	if r.Len() != len(msg) {
		t.Fatalf("the failed delivery read %d bytes", len(msg)-r.Len())
	}
	if _, err := s.(*pgstore.Store).Deliver(ctx, store.Inbox, r, store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	mb, _ := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
	defer mb.Close()
	rd, err := mb.Open(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if rd.Size() != int64(len(msg)) {
		t.Fatalf("stored %d bytes, want %d", rd.Size(), len(msg))
	}
}

// holdFirstBatch makes b's first delivery batch wait (up to 10 s) until
// queued deliveries are waiting, so that they commit as one batch. The
// function returned gives the sizes of the batches run so far.
func holdFirstBatch(b *pgstore.Backend, queued int) func() []int {
	var mu sync.Mutex
	var sizes []int
	first := true
	pgstore.SetDeliverBatchHook(b, func(n int) {
		mu.Lock()
		sizes = append(sizes, n)
		wait := first
		first = false
		mu.Unlock()
		for deadline := time.Now().Add(10 * time.Second); wait && pgstore.DeliveriesQueued(b) < queued && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	})
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), sizes...)
	}
}
