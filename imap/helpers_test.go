package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// testAuth is a small test-only Authenticator (users with passwords,
// PLAIN only). Plaintext is allowed on TLS, or everywhere when
// insecureOK is set, mirroring disable_plaintext_auth.
type testAuth struct {
	users      map[string]string
	insecureOK bool
}

func (a *testAuth) Mechanisms(c *auth.ConnInfo) []string {
	if a.PlaintextAllowed(c) {
		return []string{"PLAIN"}
	}
	return nil
}

func (a *testAuth) PlaintextAllowed(c *auth.ConnInfo) bool { return a.insecureOK || c.TLS != nil }

func (a *testAuth) Login(ctx context.Context, c *auth.ConnInfo, user, pass string) (*auth.Identity, error) {
	if !a.PlaintextAllowed(c) {
		return nil, auth.ErrPlaintextNotAllowed
	}
	if p, ok := a.users[user]; ok && p == pass {
		return &auth.Identity{User: user}, nil
	}
	return nil, auth.ErrAuthFailed
}

func (a *testAuth) NewSASL(ctx context.Context, mech string, c *auth.ConnInfo) (auth.SASLSession, error) {
	if mech != "PLAIN" {
		return nil, auth.ErrUnsupportedMechanism
	}
	if !a.PlaintextAllowed(c) {
		return nil, auth.ErrPlaintextNotAllowed
	}
	return &plainSession{a: a}, nil
}

type plainSession struct {
	a  *testAuth
	id *auth.Identity
}

func (s *plainSession) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return []byte{}, false, nil
	}
	parts := strings.Split(string(resp), "\x00")
	if len(parts) != 3 {
		return nil, false, auth.ErrAuthFailed
	}
	if p, ok := s.a.users[parts[1]]; ok && p == parts[2] {
		s.id = &auth.Identity{User: parts[1]}
		return nil, true, nil
	}
	return nil, false, auth.ErrAuthFailed
}

func (s *plainSession) Identity() *auth.Identity { return s.id }

// testEnv is a running server over Maildirs in a temp directory.
type testEnv struct {
	srv  *Server
	addr string
	root string // users' Maildirs are root/<user>/Maildir
}

func maildirRoot(root, user string) string { return filepath.Join(root, user, "Maildir") }

func newTestEnv(t testing.TB, configure func(*Server)) *testEnv {
	t.Helper()
	return newTestEnvAt(t, t.TempDir(), configure)
}

// newTestEnvAt is newTestEnv with the users' directories under root.
func newTestEnvAt(t testing.TB, root string, configure func(*Server)) *testEnv {
	t.Helper()
	env := &testEnv{root: root}
	opts := maildir.Options{AutoMailboxes: store.DefaultAutoMailboxes(), NoSync: true}
	be := testBackend(t, root, opts, store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		return maildir.Open(maildirRoot(root, user), opts)
	}))
	env.srv = &Server{
		Authenticator: &testAuth{users: map[string]string{"alice": "secret", "bob": "pw"}, insecureOK: true},
		Backend:       be,
	}
	if configure != nil {
		configure(env.srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := env.srv.Serve(l); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		env.srv.Shutdown(ctx)
		<-done
	})
	return env
}

// client is a raw IMAP test client.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
	n  int
}

func (e *testEnv) dial(t testing.TB) *client {
	t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	if g := c.line(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting %q", g)
	}
	return c
}

func (e *testEnv) login(t testing.TB, user, pass string) *client {
	t.Helper()
	c := e.dial(t)
	c.ok("LOGIN " + user + " " + pass)
	return c
}

// line reads one response line (literals included inline).
func (c *client) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var sb strings.Builder
	for {
		s, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (got %q)", err, sb.String()+s)
		}
		sb.WriteString(s)
		if m := literalRE.FindStringSubmatch(s); m != nil {
			var n int
			fmt.Sscan(m[1], &n)
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.br, buf); err != nil {
				c.t.Fatalf("read literal: %v", err)
			}
			sb.Write(buf)
			continue
		}
		return strings.TrimRight(sb.String(), "\r\n")
	}
}

var literalRE = regexp.MustCompile(`~?\{(\d+)\}\r\n$`)

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a tagged command and returns the untagged lines and the
// tagged completion.
func (c *client) cmd(s string) ([]string, string) {
	c.t.Helper()
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	c.send(tag + " " + s)
	var lines []string
	for {
		l := c.line()
		if strings.HasPrefix(l, tag+" ") {
			return lines, strings.TrimPrefix(l, tag+" ")
		}
		lines = append(lines, l)
	}
}

func (c *client) ok(s string) []string {
	c.t.Helper()
	lines, st := c.cmd(s)
	if !strings.HasPrefix(st, "OK") {
		c.t.Fatalf("%s: %s (untagged %q)", s, st, lines)
	}
	return lines
}

// transcript runs C:/S: lines: C: lines are sent; S: lines must arrive in
// order (an S: line starting with "re:" is a regular expression).
func (c *client) transcript(script string) {
	c.t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(script), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "C:":
			c.send("")
		case strings.HasPrefix(l, "C: "):
			c.send(strings.TrimPrefix(l, "C: "))
		case strings.HasPrefix(l, "S: "):
			want := strings.TrimPrefix(l, "S: ")
			got := c.line()
			if re, ok := strings.CutPrefix(want, "re:"); ok {
				if !regexp.MustCompile("^" + re + "$").MatchString(got) {
					c.t.Fatalf("got  %q\nwant /%s/", got, re)
				}
			} else if got != want {
				c.t.Fatalf("got  %q\nwant %q", got, want)
			}
		case l == "":
		default:
			c.t.Fatalf("bad transcript line %q", l)
		}
	}
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
