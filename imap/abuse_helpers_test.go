package imap

import (
	"bufio"
	"context"
	"log/slog"
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

// abuseEnv is a server with the real authentication policy (auth.Service,
// penalties shortened so that probes stay in seconds) and its log.
type abuseEnv struct {
	*testEnv
	db   *guessDB
	logs *testutil.SyncBuffer
}

func newAbuseEnv(t *testing.T, configure func(*Server)) *abuseEnv {
	t.Helper()
	a := &abuseEnv{db: &guessDB{users: map[string]string{"alice": "secret", "bob": "pw"}}, logs: &testutil.SyncBuffer{}}
	log := slog.New(slog.NewTextHandler(a.logs, nil))
	a.testEnv = newTestEnv(t, func(s *Server) {
		s.Authenticator = &auth.Service{PassDB: a.db, AllowPlaintext: true, Logger: log,
			FailureDelay: 20 * time.Millisecond, PenaltyBase: 20 * time.Millisecond, PenaltyMax: 60 * time.Millisecond}
		s.Logger = log
		if configure != nil {
			configure(s)
		}
	})
	return a
}

// control checks that the server still serves a well-behaved client:
// login (retried while the address's penalty queue drains), SELECT,
// APPEND, FETCH, LOGOUT, all within a few seconds.
func (a *abuseEnv) control(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var c *client
	for {
		c = a.dial(t)
		_, st := c.cmd("LOGIN alice secret")
		if strings.HasPrefix(st, "OK") {
			break
		}
		c.nc.Close()
		if time.Now().After(deadline) {
			t.Fatalf("control client cannot log in: %q", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.ok("SELECT INBOX")
	c.appendRaw("INBOX", "Subject: control\r\n\r\nstill here\r\n")
	if lines := c.ok("FETCH * BODY.PEEK[TEXT]"); len(lines) != 1 || !strings.Contains(lines[0], "still here") {
		t.Fatalf("control FETCH: %q", lines)
	}
	c.ok("LOGOUT")
}

// readUntilTag reads lines until the one tagged tag and returns it.
func readUntilTag(t *testing.T, br *bufio.Reader, tag string) string {
	t.Helper()
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %s: %v", tag, err)
		}
		if strings.HasPrefix(l, tag+" ") || strings.HasPrefix(l, "* BYE") {
			return strings.TrimRight(l, "\r\n")
		}
	}
}
