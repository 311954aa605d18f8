package testutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// SharedDir returns a fresh directory, removed when the test ends, that a
// plain system user (the one Dovecot and Postfix children run as) may
// read and write: t.TempDir is private to the test's user, which is root
// in CI. Everything created inside should be made readable too, or owned
// by PlainUser (see ChownTree).
func SharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "yubin-interop-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TempHome returns a private home directory for a test user.
func TempHome(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "home")
}

// TempMaildir returns the path of a Maildir (cur, new and tmp created)
// inside a fresh temporary home.
func TempMaildir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ChownTree gives every file and directory under root to uid/gid. It is a
// no-op when the test does not run as root. Files that vanish during the
// walk (temporary files renamed away by a server) are skipped.
func ChownTree(t testing.TB, root string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, uid, gid)
		}
		if errors.Is(err, fs.ErrNotExist) {
			// A temporary file that a server still finishing its work
			// (an index write after LOGOUT) renamed away meanwhile.
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
