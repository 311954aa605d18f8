package pop3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// testAuthenticator is a small test-only auth.Authenticator for the
// protocol unit tests. The real *auth.Service (see realAuth, used by the
// client interop tests) treats loopback as secure, so tests that must see
// plaintext refused before TLS on 127.0.0.1 use this one with
// insecureDenied; it also injects ErrTempFail. Users have plaintext
// passwords; mechanisms are PLAIN and LOGIN.
type testAuthenticator struct {
	users          map[string]string
	insecureDenied bool
	tempFail       bool
}

func (a *testAuthenticator) Mechanisms(c *auth.ConnInfo) []string {
	if !a.PlaintextAllowed(c) {
		return nil
	}
	return []string{"PLAIN", "LOGIN"}
}

func (a *testAuthenticator) PlaintextAllowed(c *auth.ConnInfo) bool {
	return !a.insecureDenied || c.TLS != nil
}

func (a *testAuthenticator) Login(ctx context.Context, c *auth.ConnInfo, user, pass string) (*auth.Identity, error) {
	if a.tempFail {
		return nil, auth.ErrTempFail
	}
	if !a.PlaintextAllowed(c) {
		return nil, auth.ErrPlaintextNotAllowed
	}
	if pw, ok := a.users[user]; ok && pw == pass {
		return &auth.Identity{User: user}, nil
	}
	return nil, auth.ErrAuthFailed
}

func (a *testAuthenticator) LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error) {
	if pw, ok := a.users[user]; ok && scheme == "PLAIN" {
		return []byte(pw), nil
	}
	return nil, auth.ErrAuthFailed
}

func (a *testAuthenticator) NewSASL(ctx context.Context, mech string, c *auth.ConnInfo) (auth.SASLSession, error) {
	if !a.PlaintextAllowed(c) {
		return nil, auth.ErrPlaintextNotAllowed
	}
	switch mech {
	case "PLAIN":
		return &testPlain{a: a, c: c}, nil
	case "LOGIN":
		return &testLogin{a: a, c: c}, nil
	}
	return nil, auth.ErrUnsupportedMechanism
}

type testPlain struct {
	a  *testAuthenticator
	c  *auth.ConnInfo
	id *auth.Identity
}

func (p *testPlain) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return []byte{}, false, nil
	}
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 {
		return nil, false, auth.ErrAuthFailed
	}
	id, err := p.a.Login(ctx, p.c, string(parts[1]), string(parts[2]))
	if err != nil {
		return nil, false, err
	}
	p.id = id
	return nil, true, nil
}

func (p *testPlain) Identity() *auth.Identity { return p.id }

type testLogin struct {
	a    *testAuthenticator
	c    *auth.ConnInfo
	step int
	user string
	id   *auth.Identity
}

func (l *testLogin) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(resp) == 0 {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	default:
		id, err := l.a.Login(ctx, l.c, l.user, string(resp))
		if err != nil {
			return nil, false, err
		}
		l.id = id
		return nil, true, nil
	}
}

func (l *testLogin) Identity() *auth.Identity { return l.id }

// env is a running Server over per-user Maildirs under root/<user>/Maildir.
type env struct {
	t    *testing.T
	srv  *Server
	addr string
	root string
	auth *testAuthenticator
}

func maildirBackend(root string) store.Backend {
	return store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		return maildir.Open(filepath.Join(root, user, "Maildir"), maildir.Options{NoSync: true, Hostname: "test"})
	})
}

// startServer serves srv (Authenticator and Backend filled in when nil)
// on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, srv *Server) *env {
	t.Helper()
	e := &env{t: t, srv: srv, root: t.TempDir()}
	e.auth = &testAuthenticator{users: map[string]string{"alice": "secret", "bob": "pw bob"}}
	if srv.Authenticator == nil {
		srv.Authenticator = e.auth
	} else if a, ok := srv.Authenticator.(*testAuthenticator); ok {
		e.auth = a
	}
	if srv.Backend == nil {
		srv.Backend = testBackend(t, e.root, maildirBackend(e.root))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return e
}

// maildirPath is the INBOX directory of user.
func (e *env) maildirPath(user string) string { return filepath.Join(e.root, user, "Maildir") }

// openStore opens user's store directly (as a second, IMAP-like session
// would).
func (e *env) openStore(user string) store.Store {
	e.t.Helper()
	st, err := testBackend(e.t, e.root, maildirBackend(e.root)).Open(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

// deliver appends messages to user's INBOX and returns them as stored.
func (e *env) deliver(user string, msgs ...string) {
	e.t.Helper()
	st := e.openStore(user)
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer mb.Close()
	for _, m := range msgs {
		if _, err := mb.Append(context.Background(), strings.NewReader(m), store.AppendOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// inbox lists user's INBOX as a fresh handle sees it.
func (e *env) inbox(user string) []store.MessageInfo {
	e.t.Helper()
	st := e.openStore(user)
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		e.t.Fatal(err)
	}
	defer mb.Close()
	var out []store.MessageInfo
	mb.Messages(context.Background(), nil, func(m *store.MessageInfo) error {
		c := *m
		out = append(out, c)
		return nil
	})
	return out
}

// client is a raw POP3 connection.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	cl := &client{t: e.t, conn: c, r: bufio.NewReader(c)}
	cl.expect("+OK ")
	return cl
}

// login dials and logs in with USER/PASS.
func (e *env) login(user, pass string) *client {
	e.t.Helper()
	c := e.dial()
	c.cmd("USER "+user, "+OK")
	c.cmd("PASS "+pass, "+OK Logged in.")
	return c
}

func (c *client) send(line string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

func (c *client) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads a line and checks its prefix.
func (c *client) expect(prefix string) string {
	c.t.Helper()
	l := c.line()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want prefix %q", l, prefix)
	}
	return l
}

// cmd sends a command and checks the first reply line's prefix.
func (c *client) cmd(line, prefix string) string {
	c.t.Helper()
	c.send(line)
	return c.expect(prefix)
}

// multi reads a multi-line body up to "." and returns it raw (still
// dot-stuffed, CRLF).
func (c *client) multi() string {
	c.t.Helper()
	var b strings.Builder
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read body: %v", err)
		}
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(l)
	}
}

// unstuff undoes dot-stuffing of a multi-line body.
func unstuff(body string) string {
	lines := strings.SplitAfter(body, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") {
			lines[i] = l[1:]
		}
	}
	return strings.Join(lines, "")
}

// closed reports whether the server closed the connection.
func (c *client) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.r.ReadByte()
	return err != nil
}

// dial0 connects without reading the greeting.
func (e *env) dial0() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return &client{t: e.t, conn: c, r: bufio.NewReader(c)}
}

func dialRaw(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func dialListener() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// tlsClient upgrades c after a successful STLS.
func tlsClient(t *testing.T, c *client, fx *testutil.TLSFixture) *client {
	t.Helper()
	tc := tls.Client(c.conn, fx.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return &client{t: t, conn: tc, r: bufio.NewReader(tc)}
}

func tlsDial(t *testing.T, addr string, fx *testutil.TLSFixture) *client {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, fx.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	return &client{t: t, conn: tc, r: bufio.NewReader(tc)}
}

// realAuth returns the auth package's Service over a passwd-file holding
// alice (PLAIN, so APOP works) and bob (SHA512-CRYPT of "pw bob" is not
// needed: PLAIN too), without failure delays so tests stay fast.
func realAuth(t *testing.T) (*auth.Service, *auth.PasswdFile) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passwd")
	data := "alice:{PLAIN}secret::::::\nbob:{PLAIN}pw bob::::::\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	pf := &auth.PasswdFile{Path: path}
	if err := pf.Reload(); err != nil {
		t.Fatal(err)
	}
	return &auth.Service{PassDB: pf, FailureDelay: -1, PenaltyBase: -1}, pf
}

// startRealAuth starts a server that authenticates with realAuth.
func startRealAuth(t *testing.T, srv *Server) *env {
	t.Helper()
	svc, pf := realAuth(t)
	srv.Authenticator, srv.Credentials = svc, pf
	return startServer(t, srv)
}
