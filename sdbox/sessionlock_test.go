package sdbox

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// TestSessionLockExcludes: a second LockSession, on the same Store or
// another on the same root, waits and fails with ErrMailboxInUse while
// the first is held, and succeeds once it is closed.
func TestSessionLockExcludes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s1, _ := Open(root, Options{})
	s2, _ := Open(root, Options{})
	l, err := s1.LockSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{s1, s2} {
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

// TestDovecotPOP3SessionLockSdbox: Dovecot's pop3 with
// pop3_lock_session keeps yubin's LockSession out of the same sdbox
// until its QUIT.
func TestDovecotPOP3SessionLockSdbox(t *testing.T) {
	t.Parallel()
	testutil.CheckDovecotPOP3SessionLock(t, "sdbox:~/sdbox", func(home string) string { return filepath.Join(home, "sdbox") },
		func(home string) store.SessionLocker {
			s, err := Open(filepath.Join(home, "sdbox"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
}
