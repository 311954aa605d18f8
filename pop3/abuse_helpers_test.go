package pop3

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
)

// syncLog is a log destination safe for concurrent sessions.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// guessDB is a PassDB that counts the passwords it checks: the guesses
// an attacker gets.
type guessDB struct {
	users   map[string]string
	guesses atomic.Int64
}

func (g *guessDB) Authenticate(_ context.Context, user, password string) (*auth.Identity, error) {
	g.guesses.Add(1)
	pw, ok := g.users[user]
	if !ok {
		return nil, auth.ErrUnknownUser
	}
	if pw != password {
		return nil, auth.ErrAuthFailed
	}
	return &auth.Identity{User: user}, nil
}

// abuseEnv is a server with the real authentication policy (penalties
// shortened so that probes stay in seconds) and its log.
type abuseEnv struct {
	*env
	db   *guessDB
	logs *syncLog
}

func newAbuseEnv(t *testing.T, srv *Server) *abuseEnv {
	t.Helper()
	a := &abuseEnv{db: &guessDB{users: map[string]string{"alice": "secret", "bob": "pw bob"}}, logs: &syncLog{}}
	log := slog.New(slog.NewTextHandler(a.logs, nil))
	srv.Authenticator = &auth.Service{PassDB: a.db, AllowPlaintext: true, Logger: log,
		FailureDelay: 20 * time.Millisecond, PenaltyBase: 20 * time.Millisecond, PenaltyMax: 60 * time.Millisecond}
	srv.Logger = log
	a.env = startServer(t, srv)
	a.deliver("alice", "Subject: hello\r\n\r\nfirst message\r\n")
	return a
}

// control checks that the server still serves a well-behaved client:
// USER/PASS (retried while the address's penalty queue drains), STAT,
// RETR and QUIT.
func (a *abuseEnv) control(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var c *client
	for {
		c = a.dial()
		c.cmd("USER alice", "+OK")
		c.send("PASS secret")
		if l := c.line(); strings.HasPrefix(l, "+OK") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("control client cannot log in: %q", l)
		}
		c.conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
	c.cmd("STAT", "+OK 1 ")
	c.cmd("RETR 1", "+OK")
	if body := c.multi(); !strings.Contains(body, "first message") {
		t.Fatalf("control RETR: %q", body)
	}
	c.cmd("QUIT", "+OK")
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func checkHeap(t *testing.T, what string, before uint64, max uint64) {
	t.Helper()
	grew := int64(heapInUse()) - int64(before)
	t.Logf("%s: heap in use grew by %d KiB", what, grew>>10)
	if grew > int64(max) {
		t.Errorf("%s: heap grew by %d MiB, want at most %d MiB", what, grew>>20, max>>20)
	}
}

func bounded(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("probe not done within %v", d)
	}
}

// rawClient wraps a connection made outside env.dial.
func rawClient(t *testing.T, nc net.Conn) *client {
	return &client{t: t, conn: nc, r: bufio.NewReader(nc)}
}
