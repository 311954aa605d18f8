package pop3

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

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
	logs *testutil.SyncBuffer
}

func newAbuseEnv(t *testing.T, srv *Server) *abuseEnv {
	t.Helper()
	a := &abuseEnv{db: &guessDB{users: map[string]string{"alice": "secret", "bob": "pw bob"}}, logs: &testutil.SyncBuffer{}}
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

// rawClient wraps a connection made outside env.dial.
func rawClient(t *testing.T, nc net.Conn) *client {
	return &client{t: t, conn: nc, r: bufio.NewReader(nc)}
}
