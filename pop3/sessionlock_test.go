package pop3

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// TestLockSessionAcrossServers: two Servers (as two processes would run)
// over one shared maildir.Backend, which gives a user's sessions one
// Store: their sessions exclude each other through the Store's session
// lock, a refused login does not release the holder's lock, a login
// waits for a lock released meanwhile, and the holder's QUIT lets the
// other in.
func TestLockSessionAcrossServers(t *testing.T) {
	root := t.TempDir()
	b := maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
		return filepath.Join(root, user, "Maildir"), nil
	}, maildir.Options{NoSync: true, Hostname: "test"})
	e1 := startServer(t, &Server{LockSession: true, Backend: b})
	e2 := startServer(t, &Server{LockSession: true, Backend: b})
	e1.root, e2.root = root, root
	e1.deliver("alice", msg1)
	lockPath := filepath.Join(root, "alice", "Maildir", maildir.SessionLockName)

	a := e1.login("alice", "secret")
	if data, err := os.ReadFile(lockPath); err != nil || string(data) != strconv.Itoa(os.Getpid())+":test" {
		t.Fatalf("session lock: %q, %v", data, err)
	}
	c := e2.dial()
	c.cmd("USER alice", "+OK")
	start := time.Now()
	c.cmd("PASS secret", "-ERR [IN-USE] Mailbox is locked by another POP3 session.")
	if d := time.Since(start); d < DefaultLockSessionWait {
		t.Errorf("refused after %v, before DefaultLockSessionWait", d)
	}
	// The refused session's Store was closed: the holder keeps its lock.
	if _, err := os.Stat(lockPath); err != nil {
		t.Fatalf("refused login released the holder's lock: %v", err)
	}
	a.cmd("STAT", "+OK 1 ")
	// Another user is not affected.
	e2.login("bob", "pw bob").cmd("QUIT", "+OK")

	// A login waits for a lock released during its wait.
	c.cmd("USER alice", "+OK")
	c.send("PASS secret")
	time.Sleep(300 * time.Millisecond)
	a.cmd("DELE 1", "+OK")
	a.cmd("QUIT", "+OK")
	quit := time.Now()
	c.expect("+OK Logged in.")
	if time.Now().Before(quit) {
		t.Fatal("logged in before the holder quit")
	}
	c.cmd("STAT", "+OK 0 ") // the holder's QUIT had expunged

	// Now the first Server's login is refused.
	a2 := e1.dial()
	a2.cmd("USER alice", "+OK")
	a2.cmd("PASS secret", "-ERR [IN-USE]")
	c.cmd("QUIT", "+OK")
	c.closed()
	a2.cmd("USER alice", "+OK")
	a2.cmd("PASS secret", "+OK Logged in.")
	a2.cmd("QUIT", "+OK")
	a2.closed()
	waitNoFile(t, lockPath)
}

// waitNoFile waits until path is gone.
func waitNoFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := os.Stat(path)
		if os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s left behind: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lossyLocker gives each session a session lock whose loss the test
// announces (maildir notices a lock taken over at its next refresh,
// a minute later; its own test covers that).
type lossyLocker struct {
	store.Store
	lost chan struct{}
}

type lossyLock struct{ lost chan struct{} }

func (l lossyLock) Close() error          { return nil }
func (l lossyLock) Lost() <-chan struct{} { return l.lost }

func (s lossyLocker) LockSession(context.Context) (store.SessionLock, error) {
	return lossyLock{s.lost}, nil
}

// TestLockSessionLost: when a session's lock is taken over while it is
// logged in, its next command is answered "-ERR [SYS/TEMP]" (Dovecot's
// text) and the session ends with nothing deleted.
func TestLockSessionLost(t *testing.T) {
	lost := make(chan struct{})
	var e *env
	e = startServer(t, &Server{LockSession: true, Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		st, err := maildir.Open(e.maildirPath(user), maildir.Options{NoSync: true})
		if err != nil {
			return nil, err
		}
		return lossyLocker{st, lost}, nil
	})})
	e.deliver("alice", msg1)
	c := e.login("alice", "secret")
	c.cmd("DELE 1", "+OK")
	close(lost)
	c.cmd("QUIT", "-ERR [SYS/TEMP] Couldn't update POP3 session lock.")
	if !c.closed() {
		t.Fatal("session open after its lock was lost")
	}
	if n := len(e.inbox("alice")); n != 1 {
		t.Fatalf("%d messages left, want the one DELE marked", n)
	}
}
