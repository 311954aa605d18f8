package sdbox

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestBackendSharesStores: sessions of one user share a Store (their
// handles notify each other at once), unknown users are refused, and
// KeepOpen keeps an unused Store for the next session.
func TestBackendSharesStores(t *testing.T) {
	dir := t.TempDir()
	b := NewBackend(func(ctx context.Context, user string) (string, error) {
		if user == "nobody" {
			return "", store.ErrNoSuchUser
		}
		return filepath.Join(dir, user), nil
	}, Options{NoSync: true, PollInterval: time.Hour})
	b.KeepOpen = time.Minute
	defer b.Close()
	c := context.Background()
	if _, err := b.Open(c, "nobody"); !errors.Is(err, store.ErrNoSuchUser) {
		t.Fatalf("unknown user: %v", err)
	}
	s1, err := b.Open(c, "alice")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := b.Open(c, "alice")
	m1, _ := s1.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	m2, _ := s2.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if _, err := m1.Append(c, strings.NewReader("Subject: x\r\n\r\nx\r\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m2.Notify():
	case <-time.After(5 * time.Second):
		t.Fatal("the other session's handle was not woken")
	}
	m1.Close()
	m2.Close()
	inner := s1.(*storeRef).Store
	s1.Close()
	s2.Close()
	s3, _ := b.Open(c, "alice")
	if s3.(*storeRef).Store != inner {
		t.Error("KeepOpen did not keep the Store")
	}
	s3.Close()
}

// TestTwoStoresOneTree: two Stores on the same tree (as two processes)
// append at once; the log lock keeps their UIDs apart and each sees the
// other's messages.
func TestTwoStoresOneTree(t *testing.T) {
	dir := t.TempDir()
	c := context.Background()
	var boxes []store.Mailbox
	for i := 0; i < 2; i++ {
		s, err := Open(dir, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()
		boxes = append(boxes, mb)
	}
	done := make(chan []uint32, 2)
	for _, mb := range boxes {
		go func(mb store.Mailbox) {
			var uids []uint32
			for i := 0; i < 40; i++ {
				res, err := mb.Append(c, strings.NewReader("Subject: two\r\n\r\nx\r\n"), store.AppendOptions{})
				if err != nil {
					t.Error(err)
					break
				}
				uids = append(uids, res.UID)
			}
			done <- uids
		}(mb)
	}
	seen := map[uint32]bool{}
	for i := 0; i < 2; i++ {
		for _, u := range <-done {
			if seen[u] {
				t.Fatalf("UID %d given twice", u)
			}
			seen[u] = true
		}
	}
	for _, mb := range boxes {
		if _, err := mb.Poll(c); err != nil {
			t.Fatal(err)
		}
		if n := len(uidsIn(t, mb)); n != 80 {
			t.Errorf("a store sees %d messages, want 80", n)
		}
	}
}
