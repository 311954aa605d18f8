package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// recentUIDs lists the messages a handle reports \Recent.
func recentUIDs(t *testing.T, mb store.Mailbox) []uint32 {
	t.Helper()
	var out []uint32
	if err := mb.Messages(context.Background(), nil, func(mi *store.MessageInfo) error {
		if mi.Recent {
			out = append(out, mi.UID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecent: a message is \Recent in exactly one writable handle, the
// first to see it, across Backends (servers); a read-only handle shows
// it without taking it; a delivery takes nothing.
func TestRecent(t *testing.T) {
	conn := newDB(t)
	ctx := context.Background()
	open := func(ro bool) store.Mailbox {
		s, err := openBackend(t, conn, pgstore.Options{}).Open(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		mb, err := s.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mb.Close() })
		return mb
	}
	deliver := open(false)
	for range 2 {
		if _, err := deliver.Append(ctx, strings.NewReader("Subject: x\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := recentUIDs(t, open(true)); len(got) != 2 {
		t.Fatalf("read-only handle: recent %v, want 1 2", got)
	}
	first, second := open(false), open(false)
	if got := recentUIDs(t, first); len(got) != 2 {
		t.Fatalf("first writable handle: recent %v, want 1 2", got)
	}
	if got := recentUIDs(t, second); len(got) != 0 {
		t.Fatalf("second writable handle: recent %v, want none", got)
	}
	if _, err := deliver.Append(ctx, strings.NewReader("Subject: y\r\n\r\ny\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	var news int
	for _, mb := range []store.Mailbox{second, first} {
		ch, err := mb.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ch {
			if c.Kind == store.ChangeNew && c.Message.Recent {
				news++
			}
		}
	}
	if news != 1 {
		t.Fatalf("new message recent in %d handles, want 1", news)
	}
}
