package testutil

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// CheckSessionLockExcludes checks a store's LockSession: a second
// LockSession, on the same Store (s1) or another on the same root (s2),
// waits and fails with store.ErrMailboxInUse while the first is held,
// and succeeds once it is closed.
func CheckSessionLockExcludes(t *testing.T, s1, s2 store.SessionLocker) {
	t.Helper()
	l, err := s1.LockSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.SessionLocker{s1, s2} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		l2, err := s.LockSession(ctx)
		cancel()
		if !errors.Is(err, store.ErrMailboxInUse) {
			if l2 != nil {
				l2.Close()
			}
			t.Fatalf("second lock: %v", err)
		}
	}
	l.Close()
	l2, err := s2.LockSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l2.Close()
}
