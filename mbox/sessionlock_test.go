package mbox

import (
	"path/filepath"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// TestSessionLockExcludes: testutil.CheckSessionLockExcludes, with a
// second Store on the same root.
func TestSessionLockExcludes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s1, _ := Open(root, Options{Inbox: filepath.Join(root, "inbox")})
	s2, _ := Open(root, Options{Inbox: filepath.Join(root, "inbox")})
	testutil.CheckSessionLockExcludes(t, s1, s2)
}

// TestDovecotPOP3SessionLockMbox: Dovecot's pop3 with
// pop3_lock_session keeps yubin's LockSession out of the same mbox tree
// until its QUIT.
func TestDovecotPOP3SessionLockMbox(t *testing.T) {
	t.Parallel()
	testutil.CheckDovecotPOP3SessionLock(t, "mbox:~/mail:INBOX=~/inbox", func(home string) string { return filepath.Join(home, "mail", ".imap") },
		func(home string) store.SessionLocker {
			s, err := Open(filepath.Join(home, "mail"), Options{Inbox: filepath.Join(home, "inbox")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
}
