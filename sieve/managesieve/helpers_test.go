package managesieve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// anyPassword is a PassDB that lets every user in with any password,
// as the static passdb of testutil.StartDovecot does.
type anyPassword struct{}

func (anyPassword) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	return &auth.Identity{User: user}, nil
}

// fixedPassword lets in one user with one password.
type fixedPassword struct{ user, password string }

func (f fixedPassword) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	if user == f.user && password == f.password {
		return &auth.Identity{User: user}, nil
	}
	return nil, auth.ErrAuthFailed
}

// sievecCheck is a Check that compiles the script with Pigeonhole's
// sievec, the reference compiler, and returns its messages as sievec
// prints them (the script name as prefix, none for CHECKSCRIPT), as
// Pigeonhole's managesieved sends them.
func sievecCheck(t testing.TB) func(ctx context.Context, name string, script []byte) error {
	bin := testutil.RequireBinary(t, "sievec")
	dir := t.TempDir()
	conf := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var n int
	return func(ctx context.Context, name string, script []byte) error {
		n++
		sub := filepath.Join(dir, strconv.Itoa(n))
		if err := os.Mkdir(sub, 0o700); err != nil {
			return err
		}
		defer os.RemoveAll(sub)
		base := name
		if base == "" {
			base = "checkscript"
		}
		src := filepath.Join(sub, base+".sieve")
		if err := os.WriteFile(src, script, 0o600); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-c", conf, src, filepath.Join(sub, "out.svbin"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		runErr := cmd.Run()
		if _, ok := runErr.(*exec.ExitError); runErr != nil && !ok {
			return runErr
		}
		var b strings.Builder
		for _, line := range strings.Split(out.String(), "\n") {
			if line == "" || strings.HasPrefix(line, "sievec: ") {
				continue
			}
			if name == "" {
				line = strings.TrimPrefix(line, base+": ")
			}
			b.WriteString(line + "\r\n")
		}
		if runErr == nil {
			if b.Len() == 0 {
				return nil
			}
			return &ScriptWarnings{Text: b.String()}
		}
		return &ScriptError{Text: b.String()}
	}
}

// plainCheck is a trivial Check for unit tests: a script containing
// "error" fails with one sievec-style message.
func plainCheck(ctx context.Context, name string, script []byte) error {
	if i := bytes.Index(script, []byte("error")); i >= 0 {
		line := bytes.Count(script[:i], []byte("\n")) + 1
		return &ScriptError{Text: "line " + strconv.Itoa(line) + ": error: unknown command 'error'.\r\n"}
	}
	return nil
}

// storeBackend opens <root>/<user>/sieve with the active link
// <root>/<user>/.dovecot.sieve.
func storeBackend(root string, tmpl sievestore.Store) Backend {
	return BackendFunc(func(ctx context.Context, id *auth.Identity) (Scripts, error) {
		st := tmpl
		home := filepath.Join(root, id.User)
		st.Dir, st.Active = filepath.Join(home, "sieve"), filepath.Join(home, ".dovecot.sieve")
		return &st, st.Create()
	})
}

// startServer serves srv on 127.0.0.1:0 until the test ends.
func startServer(t testing.TB, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

// newTestServer is a Server over per-user storages under a temp dir,
// any password accepted (plaintext allowed), with plainCheck.
func newTestServer(t testing.TB) (*Server, string) {
	root := t.TempDir()
	return &Server{
		Authenticator: &auth.Service{PassDB: anyPassword{}, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1},
		Backend:       storeBackend(root, sievestore.Store{MaxScripts: 3, MaxStorage: 2000}),
		Check:         plainCheck,
	}, root
}

// client is a raw ManageSieve client.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

// response reads lines up to and including the one that starts with
// OK, NO or BYE, literals included, and returns them.
func (c *client) response() string {
	c.t.Helper()
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			if b.Len() > 0 {
				b.WriteString("<EOF>\r\n")
			} else {
				b.WriteString("<EOF>\r\n")
			}
			return b.String()
		}
		// A literal at the end of the line: its data follows.
		if t := strings.TrimRight(line, "\r\n"); strings.HasSuffix(t, "}") {
			if i := strings.LastIndexByte(t, '{'); i >= 0 {
				if n, err := strconv.Atoi(strings.TrimSuffix(t[i+1:], "}")); err == nil {
					buf := make([]byte, n)
					if _, err := io.ReadFull(c.r, buf); err != nil {
						b.WriteString("<EOF>\r\n")
						return b.String()
					}
					b.Write(buf)
					rest, _ := c.r.ReadString('\n')
					b.WriteString(rest)
					line = t[:i] + rest
				}
			}
		}
		if strings.HasPrefix(line, "OK") || strings.HasPrefix(line, "NO") || strings.HasPrefix(line, "BYE") {
			return b.String()
		}
	}
}

// cmd sends one command (CRLF added; "{}" before a line break becomes
// a {n+} literal of what follows) and returns the response.
func (c *client) cmd(s string) string {
	c.t.Helper()
	c.send(expandLiteral(s))
	if strings.HasPrefix(s, "AUTHENTICATE") || strings.HasPrefix(s, `"`) {
		return c.saslResponse()
	}
	return c.response()
}

// saslResponse reads the response to a SASL step: a challenge line (a
// string alone) or a final response.
func (c *client) saslResponse() string {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return line + "<EOF>\r\n"
	}
	if strings.HasPrefix(line, `"`) || strings.HasPrefix(line, "{") {
		return line
	}
	c.r = bufio.NewReader(io.MultiReader(strings.NewReader(line), c.r))
	return c.response()
}

func (c *client) send(s string) {
	if _, err := io.WriteString(c.conn, s+"\r\n"); err != nil {
		c.t.Logf("send: %v", err)
	}
}

// expandLiteral turns `PUTSCRIPT "x" {}\nBODY` into a {n+} literal
// with CRLF line ends.
func expandLiteral(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	head, body, ok := strings.Cut(s, "{}\r\n")
	if !ok {
		return s
	}
	return head + fmt.Sprintf("{%d+}\r\n", len(body)) + body
}

func plainResp(user, password string) string {
	return b64("\x00" + user + "\x00" + password)
}
