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
