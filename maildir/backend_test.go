package maildir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

func keepOpenBackend(t *testing.T, keep time.Duration) (*Backend, string) {
	dir := t.TempDir()
	b := NewBackend(func(ctx context.Context, user string) (string, error) {
		return filepath.Join(dir, user, "Maildir"), nil
	}, Options{NoSync: true})
	b.KeepOpen = keep
	t.Cleanup(func() { b.Close() })
	return b, dir
}

// session opens user's Store and INBOX, reads the message count and
// closes both, as one POP3 session does; it returns the Store it used.
func session(t *testing.T, b *Backend, user string) (*Store, uint32) {
	t.Helper()
	c := context.Background()
	st, err := b.Open(c, user)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mb, err := st.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	status, err := mb.Status(c)
	if err != nil {
		t.Fatal(err)
	}
	return st.(*storeRef).Store, status.Messages
}

func (b *Backend) kept() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.idle.Len()
}

func storeClosed(s *Store) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// TestBackendKeepOpen: with KeepOpen, the next session after the last
// one closed reuses the open Store (and still sees a message another
// process delivered meanwhile); the Store is closed once the keep time
// has passed with no session.
func TestBackendKeepOpen(t *testing.T) {
	b, dir := keepOpenBackend(t, 300*time.Millisecond)
	s1, n := session(t, b, "alice")
	if n != 0 {
		t.Fatalf("new Maildir has %d messages", n)
	}
	if b.kept() != 1 || storeClosed(s1) {
		t.Fatalf("Store not kept open after its last session (kept %d, closed %v)", b.kept(), storeClosed(s1))
	}
	// Another process delivers (a plain file written into new/).
	msg := filepath.Join(dir, "alice", "Maildir", "new", "1700000000.M1P1.otherhost")
	if err := os.WriteFile(msg, []byte("Subject: from elsewhere\n\nhi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, n := session(t, b, "alice")
	if s2 != s1 {
		t.Fatal("second session did not reuse the kept Store")
	}
	if n != 1 {
		t.Fatalf("kept Store sees %d messages, want the 1 delivered meanwhile", n)
	}
	// Reuse restarted the keep time; it ends with no session.
	deadline := time.Now().Add(5 * time.Second)
	for !storeClosed(s1) {
		if time.Now().After(deadline) {
			t.Fatal("kept Store still open long after KeepOpen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b.kept() != 0 {
		t.Fatalf("%d Stores still kept", b.kept())
	}
	if s3, _ := session(t, b, "alice"); s3 == s1 {
		t.Fatal("a session after expiry got the closed Store")
	}
}

// TestBackendKeepOpenInUse: a Store in use is never closed by the keep
// timer, however long the session lasts.
func TestBackendKeepOpenInUse(t *testing.T) {
	b, _ := keepOpenBackend(t, 20*time.Millisecond)
	session(t, b, "alice") // kept, timer armed
	st, err := b.Open(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	s := st.(*storeRef).Store
	if storeClosed(s) {
		t.Fatal("Store in use closed by the keep timer")
	}
	st.Close()
	if storeClosed(s) || b.kept() != 1 {
		t.Fatal("Store not kept after its session")
	}
}

// TestBackendKeepOpenBound: beyond MaxKeptOpen idle Stores the one idle
// longest is closed.
func TestBackendKeepOpenBound(t *testing.T) {
	b, _ := keepOpenBackend(t, time.Hour)
	b.MaxKeptOpen = 2
	a, _ := session(t, b, "a")
	bb, _ := session(t, b, "b")
	c, _ := session(t, b, "c")
	if !storeClosed(a) || storeClosed(bb) || storeClosed(c) || b.kept() != 2 {
		t.Fatalf("closed a=%v b=%v c=%v, kept %d; want only a closed, 2 kept", storeClosed(a), storeClosed(bb), storeClosed(c), b.kept())
	}
	// Reusing b makes c the oldest idle one.
	session(t, b, "b")
	session(t, b, "d")
	if !storeClosed(c) || storeClosed(bb) {
		t.Fatalf("closed b=%v c=%v; want c closed", storeClosed(bb), storeClosed(c))
	}
}

// TestBackendCloseClosesKept: Backend.Close closes the kept Stores at
// once; one still in use is closed when its session ends, not kept.
func TestBackendCloseClosesKept(t *testing.T) {
	b, _ := keepOpenBackend(t, time.Hour)
	kept, _ := session(t, b, "alice")
	st, err := b.Open(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	used := st.(*storeRef).Store
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !storeClosed(kept) {
		t.Fatal("Backend.Close left a kept Store open")
	}
	if storeClosed(used) {
		t.Fatal("Backend.Close closed a Store in use")
	}
	// The session still works, then its Store is closed, not kept.
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Append(context.Background(), strings.NewReader("Subject: x\n\nx\n"), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	st.Close()
	if !storeClosed(used) || b.kept() != 0 || len(b.stores) != 0 {
		t.Fatalf("after Close: Store closed %v, kept %d, stores %d", storeClosed(used), b.kept(), len(b.stores))
	}
}

// TestBackendSlowOpen checks that a user's Store is opened outside the
// Backend's lock: while one user's open is stuck, another user's
// session opens; a second session of the stuck user waits for the same
// open (and gives up when its ctx ends, leaving no reference behind);
// a failed open fails its waiters too and is tried again by the next
// session.
func TestBackendSlowOpen(t *testing.T) {
	b, dir := keepOpenBackend(t, 0)
	stuck := make(chan struct{})
	fail := false
	opens := map[string]int{}
	var mu sync.Mutex
	b.open = func(root string, opts Options) (*Store, error) {
		mu.Lock()
		opens[root]++
		f := fail
		mu.Unlock()
		if strings.Contains(root, "slow") {
			<-stuck
		}
		if f {
			return nil, errors.New("open failed")
		}
		return Open(root, opts)
	}
	ctx := context.Background()

	first := make(chan error, 1)
	var slowStore store.Store
	go func() {
		st, err := b.Open(ctx, "slow")
		slowStore = st
		first <- err
	}()
	for {
		mu.Lock()
		n := opens[filepath.Join(dir, "slow", "Maildir")]
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		st, err := b.Open(ctx, "quick")
		if err == nil {
			st.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another user's open waited for a stuck one")
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.Open(short, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a waiting session whose ctx ended: %v", err)
	}
	close(stuck)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := opens[filepath.Join(dir, "slow", "Maildir")]
	mu.Unlock()
	if n != 1 {
		t.Errorf("the stuck user's Store was opened %d times, want once", n)
	}
	slowStore.Close()
	// The given-up session's reference comes back after the open; then
	// nothing is open (KeepOpen is 0).
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		left := len(b.stores)
		b.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Stores still held after every session closed", left)
		}
		time.Sleep(time.Millisecond)
	}

	mu.Lock()
	fail = true
	mu.Unlock()
	if _, err := b.Open(ctx, "quick"); err == nil {
		t.Fatal("a failed open gave a Store")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	st, err := b.Open(ctx, "quick")
	if err != nil {
		t.Fatalf("the open after a failed one: %v", err)
	}
	st.Close()
}
