package sdbox

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
	s1, _ := Open(root, Options{})
	s2, _ := Open(root, Options{})
	testutil.CheckSessionLockExcludes(t, s1, s2)
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
