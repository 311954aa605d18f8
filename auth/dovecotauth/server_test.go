package dovecotauth

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

func testService(t *testing.T) *auth.Service {
	t.Helper()
	return &auth.Service{
		PassDB:         &auth.PasswdFile{Path: filepath.Join(testutil.SharedTestdata(t), "passwd-file")},
		AuthMechanisms: []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"},
		FailureDelay:   -1, PenaltyBase: -1,
	}
}

// startServer serves the auth-client and auth-master protocols on unix
// sockets in a directory other users (Postfix's smtpd) can reach.
func startServer(t *testing.T, svc *auth.Service) (clientSock, masterSock string, s *Server) {
	t.Helper()
	dir := testutil.SharedDir(t)
	clientSock, masterSock = filepath.Join(dir, "auth-client"), filepath.Join(dir, "auth-userdb")
	s = &Server{Authenticator: svc, UserDB: svc.PassDB.(auth.UserDB), PassDB: svc.PassDB, Normalize: svc.Normalize}
	for _, p := range []struct {
		path  string
		serve func(net.Listener) error
	}{{clientSock, s.Serve}, {masterSock, s.ServeMaster}} {
		l, err := net.Listen("unix", p.path)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(p.path, 0o666)
		go p.serve(l)
	}
	t.Cleanup(func() { s.Close() })
	return clientSock, masterSock, s
}

type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, path string) *rawConn {
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t, c, bufio.NewReader(c)}
}

func (r *rawConn) send(line string) {
	if _, err := r.c.Write([]byte(line + "\n")); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) recv() string {
	line, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestAuthClientTranscript replays the Postfix-to-Dovecot exchanges of
// FORMATS.md 6.1 against the server.
func TestAuthClientTranscript(t *testing.T) {
	sock, _, _ := startServer(t, testService(t))
	c := dialRaw(t, sock)
	c.send("VERSION\t1\t0")
	c.send("CPID\t8869")
	want := []string{"VERSION\t1\t2", "MECH\tPLAIN\tplaintext", "MECH\tLOGIN\tplaintext", "MECH\tCRAM-MD5\tdictionary\tactive", "MECH\tSCRAM-SHA-256\tmutual-auth"}
	for _, w := range want {
		if got := c.recv(); got != w {
			t.Fatalf("handshake: got %q, want %q", got, w)
		}
	}
	for _, prefix := range []string{"SPID\t", "CUID\t", "COOKIE\t", "DONE"} {
		if got := c.recv(); !strings.HasPrefix(got, prefix) {
			t.Fatalf("handshake: got %q, want %s...", got, prefix)
		}
	}
	params := "service=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1"
	c.send("AUTH\t1\tPLAIN\t" + params + "\tresp=" + b64("\x00plain@example.org\x00secret"))
	if got := c.recv(); got != "OK\t1\tuser=plain@example.org" {
		t.Errorf("PLAIN: %q", got)
	}
	c.send("AUTH\t2\tLOGIN\t" + params)
	if got := c.recv(); got != "CONT\t2\t"+b64("Username:") {
		t.Errorf("LOGIN 1: %q", got)
	}
	c.send("CONT\t2\t" + b64("plain@example.org"))
	if got := c.recv(); got != "CONT\t2\t"+b64("Password:") {
		t.Errorf("LOGIN 2: %q", got)
	}
	c.send("CONT\t2\t" + b64("wrong"))
	if got := c.recv(); got != "FAIL\t2" {
		t.Errorf("LOGIN wrong: %q", got)
	}
	c.send("AUTH\t8\tPLAIN\tservice=smtp\tresp=!!notbase64")
	if got := c.recv(); got != "FAIL\t8\tcode=invalid_base64\treason=Invalid base64 data in initial response" {
		t.Errorf("bad base64: %q", got)
	}
	c.send("AUTH\t9\tPLAIN\tservice=smtp\tresp=")
	if got := c.recv(); !strings.HasPrefix(got, "FAIL\t9") {
		t.Errorf("empty resp: %q", got)
	}
	c.send("AUTH\t11\tPLAIN\t" + params + "\tresp=" + b64("\x00Plain@Example.ORG\x00secret"))
	if got := c.recv(); got != "OK\t11\tuser=plain@example.org\toriginal_user=Plain@Example.ORG" {
		t.Errorf("normalised: %q", got)
	}
	c.send("CONT\t77\t" + b64("x"))
	if got := c.recv(); !strings.HasPrefix(got, "FAIL\t77\treason=") {
		t.Errorf("stray CONT: %q", got)
	}
	// Plaintext from a non-local client without "secured" is refused.
	c.send("AUTH\t12\tPLAIN\tservice=imap\trip=198.51.100.1\tlip=192.0.2.1\tresp=" + b64("\x00plain@example.org\x00secret"))
	if got := c.recv(); !strings.HasPrefix(got, "FAIL\t12\treason=Plaintext") {
		t.Errorf("insecure plaintext: %q", got)
	}
	c.send("AUTH\t13\tPLAIN\tservice=imap\trip=198.51.100.1\tlip=192.0.2.1\tsecured\tresp=" + b64("\x00plain@example.org\x00secret"))
	if got := c.recv(); got != "OK\t13\tuser=plain@example.org" {
		t.Errorf("secured plaintext: %q", got)
	}
	// CANCEL gets no reply; the next request is answered.
	c.send("AUTH\t14\tLOGIN\t" + params)
	c.recv()
	c.send("CANCEL\t14")
	c.send("AUTH\t15\tPLAIN\t" + params + "\tresp=" + b64("\x00plain@example.org\x00secret"))
	if got := c.recv(); got != "OK\t15\tuser=plain@example.org" {
		t.Errorf("after CANCEL: %q", got)
	}
	// An unadvertised mechanism closes the connection, as in Dovecot.
	c.send("AUTH\t16\tGSSAPI\tservice=smtp")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Error("connection not closed after unknown mechanism")
	}
}

// TestAuthClientConcurrentDelay checks that a failing request's delay
// does not hold up a later request on the same connection.
func TestAuthClientConcurrentDelay(t *testing.T) {
	svc := testService(t)
	svc.FailureDelay = 500 * time.Millisecond
	sock, _, _ := startServer(t, svc)
	c := dialRaw(t, sock)
	c.send("VERSION\t1\t0")
	for !strings.HasPrefix(c.recv(), "DONE") {
	}
	c.send("AUTH\t1\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=" + b64("\x00plain@example.org\x00wrong"))
	start := time.Now()
	c.send("AUTH\t2\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=" + b64("\x00plain@example.org\x00secret"))
	if got := c.recv(); got != "OK\t2\tuser=plain@example.org" || time.Since(start) > 300*time.Millisecond {
		t.Errorf("first reply %q after %v", got, time.Since(start))
	}
	if got := c.recv(); got != "FAIL\t1" || time.Since(start) < 400*time.Millisecond {
		t.Errorf("second reply %q after %v", got, time.Since(start))
	}
}

func TestAuthMasterTranscript(t *testing.T) {
	_, sock, _ := startServer(t, testService(t))
	c := dialRaw(t, sock)
	c.send("VERSION\t1\t0")
	if got := c.recv(); got != "VERSION\t1\t1" {
		t.Fatalf("version: %q", got)
	}
	c.recv() // SPID
	c.send("USER\t1\talice@example.org\tservice=lmtp")
	if got := c.recv(); got != "USER\t1\talice@example.org\tgid=5000\thome=/srv/mail/example.org/alice\tmail=maildir:~/Maildir\tquota_rule=*:storage=1G\tuid=5000" {
		t.Errorf("USER: %q", got)
	}
	c.send("USER\t2\tnosuch@example.org\tservice=lmtp")
	if got := c.recv(); got != "NOTFOUND\t2" {
		t.Errorf("unknown: %q", got)
	}
	c.send("USER\t3\tAlice@Example.ORG\tservice=imap\trip=127.0.0.1")
	if got := c.recv(); !strings.HasPrefix(got, "USER\t3\talice@example.org\t") {
		t.Errorf("normalised: %q", got)
	}
	c.send("PASS\t5\tPlain@Example.ORG\tservice=imap")
	if got := c.recv(); got != "PASS\t5\tuser=plain@example.org" {
		t.Errorf("PASS: %q", got)
	}
	c.send("PASS\t6\tnosuch@example.org\tservice=imap")
	if got := c.recv(); got != "NOTFOUND\t6" {
		t.Errorf("PASS unknown: %q", got)
	}
	c.send("LIST\t4")
	if got := c.recv(); got != "LIST\t4\tsha512crypt@example.org" {
		t.Errorf("LIST: %q", got)
	}
	for {
		if l := c.recv(); strings.HasPrefix(l, "DONE\t4") {
			break
		}
	}
}

// TestPostfixSwaksDovecotSASL points a real Postfix 3.7 smtpd at yubin's
// auth-client socket (smtpd_sasl_type = dovecot) and authenticates with
// swaks: 235 for the right password, 535 for a wrong one, with PLAIN,
// LOGIN and CRAM-MD5.
func TestPostfixSwaksDovecotSASL(t *testing.T) {
	swaks := testutil.RequireBinary(t, "swaks")
	svc := testService(t)
	svc.FailureDelay = 10 * time.Millisecond
	sock, _, _ := startServer(t, svc)
	pf := testutil.StartSMTPPostfix(t, "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\nsmtpd_sasl_path = "+sock+"\n")
	for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
		user := "plain@example.org"
		if mech == "CRAM-MD5" {
			user = "crammd5@example.org" // stored as {CRAM-MD5}
		}
		for _, tc := range []struct {
			pw, want string
		}{{"secret", "235 "}, {"wrong", "535 "}} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, _ := exec.CommandContext(ctx, swaks, "--server", pf.Addr(), "--auth", mech,
				"--auth-user", user, "--auth-password", tc.pw,
				"--to", "x@example.test", "--quit-after", "AUTH", "--timeout", "20").CombinedOutput()
			cancel()
			t.Logf("swaks %s %s:\n%s", mech, tc.pw, out)
			if !strings.Contains(string(out), "<~  "+tc.want) && !strings.Contains(string(out), "<~* "+tc.want) && !strings.Contains(string(out), "<-  "+tc.want) && !strings.Contains(string(out), "<** "+tc.want) {
				t.Errorf("swaks %s %s: want %q in:\n%s\nmaillog:\n%s", mech, tc.pw, tc.want, out, pf.Log())
			}
		}
	}
}

// TestAuthClientManyAtOnce: many requests on one connection at once,
// sent in one write, each get their own complete reply line, though
// replies finishing together share a write.
func TestAuthClientManyAtOnce(t *testing.T) {
	svc := testService(t)
	sock, _, _ := startServer(t, svc)
	c := dialRaw(t, sock)
	c.send("VERSION\t1\t0")
	for !strings.HasPrefix(c.recv(), "DONE") {
	}
	const n = 64
	var batch strings.Builder
	for i := 1; i <= n; i++ {
		pw := "secret"
		if i%3 == 0 {
			pw = "wrong"
		}
		fmt.Fprintf(&batch, "AUTH\t%d\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=%s\n", i, b64("\x00plain@example.org\x00"+pw))
	}
	if _, err := io.WriteString(c.c, batch.String()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range n {
		line := c.recv()
		f := strings.Split(line, "\t")
		if len(f) < 2 || seen[f[1]] {
			t.Fatalf("reply %q: malformed or repeated", line)
		}
		seen[f[1]] = true
		id, _ := strconv.Atoi(f[1])
		want := "OK\t" + f[1] + "\tuser=plain@example.org"
		if id%3 == 0 {
			want = "FAIL\t" + f[1]
		}
		if line != want {
			t.Errorf("reply %q, want %q", line, want)
		}
	}
}

// TestWorkersEnd: request goroutines wait for more work while the
// server runs and end when it closes.
func TestWorkersEnd(t *testing.T) {
	svc := testService(t)
	sock, _, s := startServer(t, svc)
	before := runtime.NumGoroutine()
	c := dialRaw(t, sock)
	c.send("VERSION\t1\t0")
	for !strings.HasPrefix(c.recv(), "DONE") {
	}
	for i := range 4 {
		c.send(fmt.Sprintf("AUTH\t%d\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=%s", i+1, b64("\x00plain@example.org\x00secret")))
		if got := c.recv(); !strings.HasPrefix(got, "OK") {
			t.Fatalf("reply %q", got)
		}
	}
	s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before the connection", n, before)
	}
}

// heldDB is a PassDB whose attempts with the password "held" wait for
// release (then fail); others go to PassDB.
type heldDB struct {
	auth.PassDB
	release chan struct{}
}

func (h heldDB) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	if password == "held" {
		<-h.release
		return nil, auth.ErrAuthFailed
	}
	return h.PassDB.Authenticate(ctx, user, password)
}

// TestAuthClientInlineHandsOn checks that a PLAIN request run on the
// connection's reader hands the reading on before it waits for the
// passdb: a later request on the connection (a cache hit, or another
// passdb lookup) is answered while the first one is held.
func TestAuthClientInlineHandsOn(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(map[bool]string{false: "passdb", true: "cache"}[cached], func(t *testing.T) {
			svc := testService(t)
			held := heldDB{PassDB: svc.PassDB, release: make(chan struct{})}
			svc.PassDB = held
			if cached {
				svc.PassDB = &auth.Cache{PassDB: held}
			}
			s := &Server{Authenticator: svc}
			l, err := net.Listen("unix", filepath.Join(testutil.SharedDir(t), "auth-client"))
			if err != nil {
				t.Fatal(err)
			}
			go s.Serve(l)
			t.Cleanup(func() { s.Close() })
			c := dialRaw(t, l.Addr().String())
			c.send("VERSION\t1\t0")
			for !strings.HasPrefix(c.recv(), "DONE") {
			}
			auth := func(id int, pw string) {
				c.send(fmt.Sprintf("AUTH\t%d\tPLAIN\tservice=smtp\trip=127.0.0.1\tresp=%s", id, b64("\x00plain@example.org\x00"+pw)))
			}
			auth(1, "secret")
			if got := c.recv(); got != "OK\t1\tuser=plain@example.org" {
				t.Fatalf("got %q", got)
			}
			auth(2, "held")
			auth(3, "secret")
			if got := c.recv(); got != "OK\t3\tuser=plain@example.org" {
				t.Errorf("while 2 is held: %q", got)
			}
			close(held.release)
			if got := c.recv(); got != "FAIL\t2" {
				t.Errorf("after the release: %q", got)
			}
		})
	}
}
