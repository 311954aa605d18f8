package maildir

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestLockReusesSource checks that a Store takes a dotlock by linking
// the same lock source each time (no inode allocated or freed per lock),
// that the lock still looks fresh when the source is old, and that a
// source removed behind the Store's back is made again.
func TestLockReusesSource(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	ctx := context.Background()
	path := filepath.Join(root, "dovecot-uidlist.lock")
	inode := func(p string) uint64 {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	l1, err := s.lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	first := inode(path)
	l1.unlock()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("lock left after unlock: %v", err)
	}
	src := s.locks.srcs[path]
	if src == nil || inode(src.path) != first {
		t.Fatal("no lock source kept with the lock's inode")
	}

	// An old source: the lock taken from it is fresh all the same.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(src.path, old, old)
	src.touched.Store(0)
	l2, err := s.lock(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got := inode(path); got != first {
		t.Errorf("second lock has inode %d, want the source's %d", got, first)
	}
	fi, _ := os.Stat(path)
	if age := time.Since(fi.ModTime()); age > time.Minute {
		t.Errorf("lock taken from an old source looks %v old", age)
	}
	data, _ := os.ReadFile(path)
	if want := lockContent(s); string(data) != want {
		t.Errorf("lock holds %q, want %q", data, want)
	}
	l2.unlock()

	// Removed behind our back: the next lock makes a new source.
	os.Remove(src.path)
	l3, err := s.lock(ctx, path)
	if err != nil {
		t.Fatalf("lock after its source vanished: %v", err)
	}
	l3.unlock()
	if s.locks.srcs[path] == src {
		t.Error("vanished source still in use")
	}
	s.Close()
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".tmp" {
			t.Errorf("left after Close: %s", e.Name())
		}
	}
}

func lockContent(s *Store) string {
	return strconv.Itoa(os.Getpid()) + ":" + s.host
}
