package managesieve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

func loggedIn(t *testing.T, addr, user string) *client {
	t.Helper()
	c := dial(t, addr)
	c.response()
	if r := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp(user, "pw") + `"`); r != "OK \"Logged in.\"\r\n" {
		t.Fatalf("login: %q", r)
	}
	return c
}

func TestCheckScriptErrorLiteral(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	c := loggedIn(t, startServer(t, srv), "u")
	got := c.cmd("CHECKSCRIPT {}\nkeep;\nerror;\n")
	want := "NO {41}\r\nline 2: error: unknown command 'error'.\r\n\r\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := c.cmd("PUTSCRIPT \"x\" {}\nerror;\n"); !strings.HasPrefix(got, "NO {") {
		t.Fatalf("PUTSCRIPT of a bad script: %q", got)
	}
	if got := c.cmd("LISTSCRIPTS"); got != "OK \"Listscripts completed.\"\r\n" {
		t.Fatalf("refused script stored: %q", got)
	}
	// A quoted string as the script works as well as a literal.
	if got := c.cmd(`PUTSCRIPT "q" "keep;"`); got != "OK \"PUTSCRIPT completed.\"\r\n" {
		t.Fatalf("quoted script: %q", got)
	}
	if got := c.cmd(`GETSCRIPT "q"`); got != "{5}\r\nkeep;\r\nOK \"Getscript completed.\"\r\n" {
		t.Fatalf("GETSCRIPT: %q", got)
	}
}

// An announced literal far over MaxScriptSize gets QUOTA/MAXSIZE and
// BYE before any of its data is read; one within four times the limit
// is skipped and the session goes on.
func TestOverlongLiteral(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.MaxScriptSize = 1000
	addr := startServer(t, srv)
	c := loggedIn(t, addr, "u")
	c.send("PUTSCRIPT \"big\" {5000000000+}")
	if got := c.response(); got != "NO (QUOTA/MAXSIZE) \"Script is too large (max 1000 bytes).\"\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := c.response(); got != "BYE \"Literal too large.\"\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := c.response(); got != "<EOF>\r\n" {
		t.Fatalf("connection not closed: %q", got)
	}
	c = loggedIn(t, addr, "u")
	if got := c.cmd("PUTSCRIPT \"big\" {}\n" + strings.Repeat("x", 3000)); got != "NO (QUOTA/MAXSIZE) \"Script is too large (max 1000 bytes).\"\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := c.cmd("NOOP"); got != "OK \"NOOP Completed\"\r\n" {
		t.Fatalf("after a skipped literal: %q", got)
	}
	// Before login, literals are bounded by MaxAuthSize.
	c = dial(t, addr)
	c.response()
	c.send(fmt.Sprintf(`AUTHENTICATE "PLAIN" {%d+}`, DefaultMaxAuthSize+1))
	if got := c.response(); got != "BYE \"Literal too large before login.\"\r\n" {
		t.Fatalf("prelogin literal: %q", got)
	}
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.MaxLineLength = 100
	c := dial(t, startServer(t, srv))
	c.response()
	c.send("NOOP \"" + strings.Repeat("x", 200) + "\"")
	if got := c.response(); got != "BYE \"Command line too long.\"\r\n" {
		t.Fatalf("got %q", got)
	}
}

// Before login, three bad commands end the session (Dovecot's login
// limit); so do MaxLoginCommands good ones.
func TestUnauthenticatedCommands(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	addr := startServer(t, srv)
	c := dial(t, addr)
	c.response()
	for i, want := range []string{
		"NO \"Error in MANAGESIEVE command received by server.\"\r\n",
		"NO \"Error in MANAGESIEVE command received by server.\"\r\n",
		"BYE \"Too many invalid MANAGESIEVE commands.\"\r\n",
		"<EOF>\r\n",
	} {
		if got := c.cmd("LISTSCRIPTS"); got != want {
			t.Fatalf("command %d: got %q, want %q", i+1, got, want)
		}
	}
	c = dial(t, addr)
	c.response()
	for i := 0; i < DefaultMaxLoginCommands; i++ {
		if got := c.cmd("NOOP"); got != "OK \"NOOP Completed\"\r\n" {
			t.Fatalf("NOOP %d: %q", i+1, got)
		}
	}
	if got := c.cmd("NOOP"); got != "BYE \"Too many commands before login.\"\r\n" {
		t.Fatalf("got %q", got)
	}
}

func TestBadCommandsAfterLogin(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.MaxBadCommands = 5
	c := loggedIn(t, startServer(t, srv), "u")
	unknown := func(n int) {
		t.Helper()
		for i := 1; i <= n; i++ {
			if got := c.cmd("XYZZY"); got != "NO \"Error in MANAGESIEVE command XYZZY: Unknown command.\"\r\n" {
				t.Fatalf("%d: %q", i, got)
			}
		}
	}
	unknown(4)
	// A well-formed command that is refused for what it asks does not
	// count, and ends the run of bad ones (Pigeonhole's rule).
	if got := c.cmd(`GETSCRIPT "a/b"`); !strings.HasPrefix(got, "NO ") {
		t.Fatalf("GETSCRIPT of a bad name: %q", got)
	}
	unknown(4)
	if got := c.cmd("XYZZY"); got != "BYE \"Too many invalid MANAGESIEVE commands.\"\r\n" {
		t.Fatalf("fifth bad command in a row: %q", got)
	}
}

// failingScripts fails every call with an error whose text must not
// reach the client.
type failingScripts struct{ *sievestore.Store }

var errSecret = errors.New("open /srv/secret/path: permission denied")

func (failingScripts) List(context.Context) ([]sievestore.Script, error) { return nil, errSecret }
func (failingScripts) Put(context.Context, string, []byte) error         { return errSecret }
func (failingScripts) HaveSpace(context.Context, string, int64) error    { return nil }

func TestNoGoErrorText(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.Backend = BackendFunc(func(ctx context.Context, id *auth.Identity) (Scripts, error) {
		return failingScripts{}, nil
	})
	srv.Check = func(ctx context.Context, name string, script []byte) error { return errSecret }
	c := loggedIn(t, startServer(t, srv), "u")
	for _, cmd := range []string{"LISTSCRIPTS", "PUTSCRIPT \"x\" {}\nkeep;\n", "CHECKSCRIPT {}\nkeep;\n"} {
		got := c.cmd(cmd)
		if !strings.HasPrefix(got, "NO (TRYLATER) ") || strings.Contains(got, "secret") {
			t.Errorf("%s: %q", cmd, got)
		}
	}
	// A Backend that fails at login.
	srv2, _ := newTestServer(t)
	srv2.Backend = BackendFunc(func(ctx context.Context, id *auth.Identity) (Scripts, error) { return nil, errSecret })
	c = dial(t, startServer(t, srv2))
	c.response()
	if got := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("u", "pw") + `"`); !strings.HasPrefix(got, "NO (TRYLATER)") || strings.Contains(got, "secret") {
		t.Fatalf("login: %q", got)
	}
}

func TestUnauthenticate(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	c := loggedIn(t, startServer(t, srv), "u")
	if got := c.cmd(`PUTSCRIPT "a" "keep;"`); !strings.HasPrefix(got, "OK") {
		t.Fatal(got)
	}
	if got := c.cmd("UNAUTHENTICATE"); got != "OK \"Unauthenticate completed.\"\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := c.cmd("LISTSCRIPTS"); !strings.HasPrefix(got, "NO ") {
		t.Fatalf("LISTSCRIPTS after UNAUTHENTICATE: %q", got)
	}
	if got := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("v", "pw") + `"`); got != "OK \"Logged in.\"\r\n" {
		t.Fatalf("second login: %q", got)
	}
	if got := c.cmd("LISTSCRIPTS"); got != "OK \"Listscripts completed.\"\r\n" {
		t.Fatalf("v sees u's scripts: %q", got)
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	tlsf := testutil.NewTLS(t)
	srv.TLSConfig = tlsf.ServerConfig()
	c := dial(t, startServer(t, srv))
	if g := c.response(); !strings.Contains(g, "\"STARTTLS\"\r\n") {
		t.Fatalf("no STARTTLS in %q", g)
	}
	if got := c.cmd("STARTTLS"); got != "OK \"Begin TLS negotiation now.\"\r\n" {
		t.Fatalf("got %q", got)
	}
	tc := tls.Client(c.conn, tlsf.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn = tc
	c.r.Reset(tc)
	caps := c.response()
	if strings.Contains(caps, "STARTTLS") || !strings.HasSuffix(caps, "OK \"TLS negotiation successful.\"\r\n") || !strings.Contains(caps, "\"SASL\" \"PLAIN LOGIN\"") {
		t.Fatalf("capabilities after STARTTLS: %q", caps)
	}
	if got := c.cmd("STARTTLS"); !strings.HasPrefix(got, "NO ") {
		t.Fatalf("second STARTTLS: %q", got)
	}
}

// farListener makes every connection look as if it came from
// 192.0.2.1, so that auth.Service's policy (loopback counts as secure)
// treats it as a remote client.
type farListener struct{ net.Listener }

func (l farListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return farConn{c}, nil
}

type farConn struct{ net.Conn }

func (farConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000} }

// TestEncryptNeeded: with auth.Service's defaults (Dovecot's
// disable_plaintext_auth = yes) a remote client is offered no
// mechanism and refused PLAIN before STARTTLS, and logs in after it.
func TestEncryptNeeded(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.Authenticator = &auth.Service{PassDB: anyPassword{}, FailureDelay: -1, PenaltyBase: -1}
	tlsf := testutil.NewTLS(t)
	srv.TLSConfig = tlsf.ServerConfig()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(farListener{l})
	t.Cleanup(func() { srv.Close() })
	c := dial(t, l.Addr().String())
	if g := c.response(); !strings.Contains(g, "\"SASL\" \"\"\r\n") {
		t.Fatalf("mechanisms offered without TLS: %q", g)
	}
	if got := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("u", "pw") + `"`); !strings.HasPrefix(got, "NO (ENCRYPT-NEEDED) ") {
		t.Fatalf("PLAIN without TLS: %q", got)
	}
	c.cmd("STARTTLS")
	tc := tls.Client(c.conn, tlsf.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn = tc
	c.r.Reset(tc)
	if g := c.response(); !strings.Contains(g, "\"SASL\" \"PLAIN LOGIN\"\r\n") {
		t.Fatalf("mechanisms after STARTTLS: %q", g)
	}
	if got := c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("u", "pw") + `"`); got != "OK \"Logged in.\"\r\n" {
		t.Fatalf("PLAIN over TLS: %q", got)
	}
}

func TestTimeoutsAndShutdown(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.LoginTimeout = 200 * time.Millisecond
	addr := startServer(t, srv)
	c := dial(t, addr)
	c.response()
	start := time.Now()
	if got := c.response(); got != "BYE \"Disconnected for inactivity.\"\r\n" {
		t.Fatalf("got %q", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("login timeout took %v", d)
	}
	c = loggedIn(t, addr, "u")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	if got := c.response(); got != "BYE \"Server shutting down.\"\r\n" {
		t.Fatalf("got %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestSASLFinalData(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.Authenticator = finalData{}
	c := dial(t, startServer(t, srv))
	c.response()
	if got := c.cmd(`AUTHENTICATE "X-FINAL" ""`); got != "OK (SASL \"ZmluYWw=\") \"Logged in.\"\r\n" {
		t.Fatalf("got %q", got)
	}
}

// finalData is an Authenticator whose one-step mechanism ends with
// additional data, as SCRAM's server-final message.
type finalData struct{}

func (finalData) Mechanisms(*auth.ConnInfo) []string   { return []string{"X-FINAL"} }
func (finalData) PlaintextAllowed(*auth.ConnInfo) bool { return true }
func (finalData) NewSASL(context.Context, string, *auth.ConnInfo) (auth.SASLSession, error) {
	return finalSession{}, nil
}
func (finalData) Login(context.Context, *auth.ConnInfo, string, string) (*auth.Identity, error) {
	return nil, auth.ErrAuthFailed
}

type finalSession struct{}

func (finalSession) Next(context.Context, []byte) ([]byte, bool, error) {
	return []byte("final"), true, nil
}
func (finalSession) Identity() *auth.Identity { return &auth.Identity{User: "u"} }

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	srv.MaxConnections = 2
	addr := startServer(t, srv)
	a, b := dial(t, addr), dial(t, addr)
	a.response()
	b.response()
	c := dial(t, addr)
	if got := c.response(); got != "BYE (TRYLATER) \"Maximum number of connections exceeded.\"\r\n" {
		t.Fatalf("third connection: %q", got)
	}
	a.cmd("LOGOUT")
	// The slot comes free once a's session has ended.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := dial(t, addr)
		if got := d.response(); strings.HasPrefix(got, "\"IMPLEMENTATION\"") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no slot after LOGOUT: %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConnState(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	tlsf := testutil.NewTLS(t)
	srv.TLSConfig = tlsf.ServerConfig()
	states := make(chan ConnState, 8)
	conns := make(chan net.Conn, 8)
	srv.ConnState = func(c net.Conn, s ConnState) { states <- s; conns <- c }
	c := dial(t, startServer(t, srv))
	c.response()
	c.cmd("STARTTLS")
	tc := tls.Client(c.conn, tlsf.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn = tc
	c.r.Reset(tc)
	c.response()
	c.cmd(`AUTHENTICATE "PLAIN" "` + plainResp("u", "pw") + `"`)
	c.cmd("LOGOUT")
	var first net.Conn
	for i, want := range []ConnState{StateNew, StateAuth, StateClosed} {
		select {
		case got := <-states:
			conn := <-conns
			if got != want {
				t.Fatalf("state %d = %v, want %v", i, got, want)
			}
			if first == nil {
				first = conn
			} else if conn != first {
				t.Fatalf("state %v reported for another net.Conn", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no state %v", want)
		}
	}
}
