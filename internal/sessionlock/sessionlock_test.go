package sessionlock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestStaleLocks: a lock naming a dead process on this host is taken
// over at once; one naming a live process (this test's parent) is not;
// an unrefreshed lock of another host is taken over after Stale.
func TestStaleLocks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, Name)
	l := &Locker{Dir: dir, Format: "test", Stale: 200 * time.Millisecond}
	try := func(d time.Duration) (store.SessionLock, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return l.Lock(ctx)
	}
	host, _ := os.Hostname()
	os.WriteFile(path, []byte("2147483646:"+host), 0o600)
	sl, err := try(time.Second)
	if err != nil {
		t.Fatalf("dead process's lock: %v", err)
	}
	sl.Close()

	os.WriteFile(path, []byte(strconv.Itoa(os.Getppid())+":"+host), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	if sl, err := try(300 * time.Millisecond); !errors.Is(err, store.ErrMailboxInUse) {
		if sl != nil {
			sl.Close()
		}
		t.Fatalf("live process's lock: %v", err)
	}

	os.WriteFile(path, []byte("123:elsewhere.example"), 0o600)
	os.Chtimes(path, old, old)
	sl, err = try(time.Second)
	if err != nil {
		t.Fatalf("unrefreshed lock of another host: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(os.Getpid())+":"+host {
		t.Errorf("lock holds %q", b)
	}
	if err := sl.Close(); err != nil {
		t.Error(err)
	}
}

// TestLost: a lock removed and taken by another while held is reported
// on Lost at the next refresh, and Close says so.
func TestLost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := &Locker{Dir: dir, Format: "test", Refresh: 20 * time.Millisecond}
	sl, err := l.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, Name))
	os.WriteFile(filepath.Join(dir, Name), []byte("1:other"), 0o600)
	select {
	case <-sl.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("not lost")
	}
	if err := sl.Close(); err == nil {
		t.Error("Close of a lost lock reported no error")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, Name)); string(b) != "1:other" {
		t.Errorf("Close removed the other holder's lock: %q", b)
	}
}
