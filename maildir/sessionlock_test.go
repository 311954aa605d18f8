package maildir

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// setSessionLockTimings shortens the session lock's timings of the
// Stores given (0 keeps a default).
func setSessionLockTimings(stale, refresh time.Duration, stores ...*Store) {
	for _, s := range stores {
		s.sessionLock.Stale, s.sessionLock.Refresh = stale, refresh
	}
}

// tryLockSession makes LockSession wait at most d.
func tryLockSession(t *testing.T, s store.SessionLocker, d time.Duration) (store.SessionLock, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.LockSession(ctx)
}

func mustLockSession(t *testing.T, s store.SessionLocker) store.SessionLock {
	t.Helper()
	l, err := tryLockSession(t, s, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func wantInUse(t *testing.T, l io.Closer, err error) {
	t.Helper()
	if err == nil {
		l.Close()
		t.Fatal("session lock taken while another session holds it")
	}
	if !errors.Is(err, store.ErrMailboxInUse) {
		t.Fatalf("error %v, want store.ErrMailboxInUse", err)
	}
}

// TestSessionLockExcludes: the lock excludes a second Store on the same
// Maildir and a second call on the same Store; it is Dovecot's file with
// Dovecot's content; closing releases it once, and a second Close does
// not release the next holder's lock.
func TestSessionLockExcludes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s1 := newTestStore(t, root, Options{})
	s2 := newTestStore(t, root, Options{})
	path := filepath.Join(root, "dovecot-pop3-session.lock")

	l1 := mustLockSession(t, s1)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(os.Getpid()) + ":" + s1.host; string(data) != want {
		t.Errorf("lock holds %q, want %q", data, want)
	}
	start := time.Now()
	l, err := tryLockSession(t, s2, 150*time.Millisecond)
	wantInUse(t, l, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not carry the context's", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("gave up after %v, before the context's deadline", d)
	}
	l, err = tryLockSession(t, s1, 50*time.Millisecond)
	wantInUse(t, l, err)

	// A context that is already done makes one attempt.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l, err = s2.LockSession(ctx)
	wantInUse(t, l, err)

	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("lock left after Close: %v", err)
	}
	l2, err := s2.LockSession(ctx) // one attempt is enough now
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a second Close of the first lock removed the second: %v", err)
	}
	l, err = tryLockSession(t, s1, 50*time.Millisecond)
	wantInUse(t, l, err)
	l2.Close()
	mustLockSession(t, s1).Close()
	if ents, _ := filepath.Glob(path + "*"); len(ents) != 0 {
		t.Errorf("files left behind: %v", ents)
	}
}

// TestSessionLockWaits: a session waiting for the lock gets it as soon as
// the holder releases it.
func TestSessionLockWaits(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s1 := newTestStore(t, root, Options{})
	s2 := newTestStore(t, root, Options{})
	l1 := mustLockSession(t, s1)
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		released <- time.Now()
		l1.Close()
	}()
	l2, err := tryLockSession(t, s2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got := time.Now(); got.Before(<-released) {
		t.Fatal("second session locked before the first released")
	}
}

// TestSessionLockBackend: sessions sharing one Store through a Backend
// (as examples/fullserver wires pop3) exclude each other, and closing a
// session's Store releases nothing but its own lock.
func TestSessionLockBackend(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	b := NewBackend(func(ctx context.Context, user string) (string, error) { return root, nil }, Options{})
	ctx := context.Background()
	st1, err := b.Open(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	st2, err := b.Open(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sl1, ok1 := st1.(store.SessionLocker)
	sl2, ok2 := st2.(store.SessionLocker)
	if !ok1 || !ok2 {
		t.Fatal("Backend's Store does not implement store.SessionLocker")
	}
	l1 := mustLockSession(t, sl1)
	l, err := tryLockSession(t, sl2, 100*time.Millisecond)
	wantInUse(t, l, err)
	l1.Close()
	st1.Close()
	l2 := mustLockSession(t, sl2)
	st3, err := b.Open(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer st3.Close()
	l, err = tryLockSession(t, st3.(store.SessionLocker), 100*time.Millisecond)
	wantInUse(t, l, err)
	l2.Close()
	st2.Close()
}

// TestSessionLockStale covers Dovecot's rules for taking a lock over.
func TestSessionLockStale(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	t.Cleanup(func() { live.Process.Kill(); live.Wait() })
	old := 10 * time.Minute // beyond the 5-minute stale timeout
	cases := []struct {
		name    string
		content string // %h is this host's name
		age     time.Duration
		stale   bool
	}{
		{"other host, fresh", "1234:elsewhere.example", 0, false},
		{"other host, not refreshed", "1234:elsewhere.example", old, true},
		{"garbage, fresh", "not a lock", time.Minute, false},
		{"garbage, not refreshed", "not a lock", old, true},
		{"dead local process", strconv.Itoa(dead.Process.Pid) + ":%h", 0, true},
		{"live local process", strconv.Itoa(live.Process.Pid) + ":%h", 0, false},
		{"live local process, old", strconv.Itoa(live.Process.Pid) + ":%h\n", old, false},
		{"this pid, not held (an earlier process)", strconv.Itoa(os.Getpid()) + ":%h", 0, true},
		{"empty, just created", "", 0, false},
		{"empty, abandoned", "", time.Minute, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "Maildir")
			s := newTestStore(t, root, Options{Hostname: "test.example"})
			path := filepath.Join(root, SessionLockName)
			content := []byte(tc.content)
			if n := len(content); n >= 2 && string(content[n-2:]) == "%h" {
				content = append(content[:n-2], s.host...)
			} else if n >= 3 && string(content[n-3:]) == "%h\n" {
				content = append(content[:n-3], s.host+"\n"...)
			}
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			when := time.Now().Add(-tc.age)
			os.Chtimes(path, when, when)
			l, err := tryLockSession(t, s, 300*time.Millisecond)
			if !tc.stale {
				wantInUse(t, l, err)
				if data, _ := os.ReadFile(path); string(data) != string(content) {
					t.Errorf("lock changed to %q", data)
				}
				return
			}
			if err != nil {
				t.Fatalf("stale lock not taken over: %v", err)
			}
			defer l.Close()
			if data, _ := os.ReadFile(path); string(data) != strconv.Itoa(os.Getpid())+":"+s.host {
				t.Errorf("lock holds %q after the takeover", data)
			}
		})
	}
}

// TestSessionLockSystemHostname: a lock naming the system's host name is
// local even when Options.Hostname differs (Dovecot writes the system's).
func TestSessionLockSystemHostname(t *testing.T) {
	h, _ := os.Hostname()
	if h == "" {
		t.Skip("no host name")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{Hostname: "not-" + h})
	path := filepath.Join(root, SessionLockName)
	if err := os.WriteFile(path, []byte(strconv.Itoa(dead.Process.Pid)+":"+h), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := tryLockSession(t, s, 300*time.Millisecond)
	if err != nil {
		t.Fatalf("lock of a dead process on this host not taken over: %v", err)
	}
	l.Close()
}

// TestSessionLockRefresh: a held lock is refreshed, so that a Store that
// cannot check its pid (another host name) does not take it over after
// the stale timeout; one that nobody refreshes is taken over.
func TestSessionLockRefresh(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s1 := newTestStore(t, root, Options{Hostname: "one.example"})
	s2 := newTestStore(t, root, Options{Hostname: "two.example"})
	setSessionLockTimings(400*time.Millisecond, 50*time.Millisecond, s1, s2)
	path := filepath.Join(root, SessionLockName)
	l1 := mustLockSession(t, s1)
	// Made old behind its back, the lock is brought up to date.
	past := time.Now().Add(-time.Hour)
	os.Chtimes(path, past, past)
	deadline := time.Now().Add(5 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(fi.ModTime()) < time.Minute {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("held lock not refreshed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Longer than the stale timeout: still held.
	l, err := tryLockSession(t, s2, time.Second)
	wantInUse(t, l, err)
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}

	// The same lock without a holder refreshing it is taken over.
	if err := os.WriteFile(path, []byte("1:one.example"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	l2, err := tryLockSession(t, s2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("unrefreshed lock taken over after %v, before the stale timeout", d)
	}
}

// TestSessionLockLost: a lock broken and taken by someone else while held
// is noticed by its refresh (Lost is closed) and not removed by its
// Close, which reports the loss.
func TestSessionLockLost(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	setSessionLockTimings(0, 20*time.Millisecond, s)
	path := filepath.Join(root, SessionLockName)
	l := mustLockSession(t, s)
	time.Sleep(60 * time.Millisecond) // a few refresh periods
	select {
	case <-l.Lost():
		t.Fatal("Lost closed while the lock was still held")
	default:
	}
	os.Remove(path)
	if err := os.WriteFile(path, []byte("1234:elsewhere.example"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost not closed after the lock was taken over")
	}
	if err := l.Close(); err == nil {
		t.Error("Close of a lost lock reported no error")
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "1234:elsewhere.example" {
		t.Errorf("the new holder's lock was touched: %q, %v", data, err)
	}
}

// BenchmarkLockSession measures taking and releasing the session lock
// (what a POP3 login with LockSession adds).
func BenchmarkLockSession(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "Maildir"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		l, err := s.LockSession(ctx)
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}
