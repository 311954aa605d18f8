package pop3

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// poplibScript drives Python's poplib. Arguments: host port mode user
// password outdir [cafile]. It writes each retrieved message to
// outdir/<n> (lines joined with CRLF, as poplib un-stuffs them) and the
// UIDL and TOP answers to outdir/uidl and outdir/top.
const poplibScript = `
import os, poplib, ssl, sys
host, port, mode, user, pw, out = sys.argv[1:7]
cafile = sys.argv[7] if len(sys.argv) > 7 else None
def ctx():
    c = ssl.create_default_context(cafile=cafile)
    return c
if mode == "pop3s":
    p = poplib.POP3_SSL(host, int(port), context=ctx(), timeout=20)
else:
    p = poplib.POP3(host, int(port), timeout=20)
if mode == "stls":
    caps = p.capa()
    assert "STLS" in caps, caps
    p.stls(context=ctx())
if mode == "apop":
    p.apop(user, pw)
else:
    p.user(user)
    p.pass_(pw)
count, size = p.stat()
open(os.path.join(out, "stat"), "w").write("%d %d" % (count, size))
resp, listing, _ = p.uidl()
open(os.path.join(out, "uidl"), "wb").write(b"\n".join(listing))
resp, lines, _ = p.top(1, 0)
open(os.path.join(out, "top"), "wb").write(b"\r\n".join(lines) + b"\r\n")
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    data = b"\r\n".join(lines) + b"\r\n"
    open(os.path.join(out, str(i)), "wb").write(data)
if mode == "dele":
    for i in range(1, count + 1):
        p.dele(i)
print(p.quit().decode())
`

func runPoplib(t *testing.T, e *env, mode, user, pass, cafile string) string {
	t.Helper()
	py := testutil.RequireBinary(t, "python3")
	out := t.TempDir()
	host, port, _ := strings.Cut(e.addr, ":")
	args := []string{"-c", poplibScript, host, port, mode, user, pass, out}
	if cafile != "" {
		args = append(args, cafile)
	}
	cmd := exec.Command(py, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("poplib %s: %v\n%s", mode, err, b)
	}
	if !strings.HasPrefix(string(b), "+OK") {
		t.Fatalf("poplib quit said %q", b)
	}
	return out
}

// checkRetrieved compares what a client saved with the CRLF form of the
// messages (a message without a final newline gains one: POP3 cannot
// carry it otherwise).
func checkRetrieved(t *testing.T, dir string, msgs ...string) {
	t.Helper()
	for i, m := range msgs {
		got, err := os.ReadFile(filepath.Join(dir, itoa(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		want := crlf(m)
		if !strings.HasSuffix(want, "\r\n") {
			want += "\r\n"
		}
		if string(got) != want {
			t.Errorf("message %d: got %q, want %q", i+1, got, want)
		}
	}
}

func TestPoplibUserPass(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1, msg2, msg3)
	out := runPoplib(t, e, "user", "alice", "secret", "")
	checkRetrieved(t, out, msg1, msg2, msg3)
	uidl, _ := os.ReadFile(filepath.Join(out, "uidl"))
	if lines := strings.Split(string(uidl), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "1 00000001") {
		t.Fatalf("poplib UIDL = %q", uidl)
	}
	top, _ := os.ReadFile(filepath.Join(out, "top"))
	if string(top) != "From: a@example.org\r\nSubject: one\r\n\r\n" {
		t.Fatalf("poplib TOP 1 0 = %q", top)
	}
	// RETR marked all seen; nothing deleted.
	for _, m := range e.inbox("alice") {
		if m.Flags.System&store.Seen == 0 {
			t.Errorf("UID %d not \\Seen after RETR", m.UID)
		}
	}
}

func TestPoplibAPOP(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1)
	out := runPoplib(t, e, "apop", "alice", "secret", "")
	checkRetrieved(t, out, msg1)
}

func TestPoplibSTLS(t *testing.T) {
	fx := testutil.NewTLS(t)
	a := &testAuthenticator{users: map[string]string{"alice": "secret"}, insecureDenied: true}
	e := startServer(t, &Server{Authenticator: a, TLSConfig: fx.ServerConfig()})
	e.deliver("alice", msg2, msg1)
	out := runPoplib(t, e, "stls", "alice", "secret", fx.CertFile)
	checkRetrieved(t, out, msg2, msg1)
}

func TestPoplibPOP3S(t *testing.T) {
	fx := testutil.NewTLS(t)
	srv := &Server{TLSConfig: fx.ServerConfig()}
	e := startRealAuth(t, srv)
	e.deliver("alice", msg1)
	l, err := dialListener()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	tlsEnv := *e
	tlsEnv.addr = l.Addr().String()
	out := runPoplib(t, &tlsEnv, "pop3s", "alice", "secret", fx.CertFile)
	checkRetrieved(t, out, msg1)
}

func TestPoplibDele(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1, msg2)
	out := runPoplib(t, e, "dele", "alice", "secret", "")
	checkRetrieved(t, out, msg1, msg2)
	if n := len(e.inbox("alice")); n != 0 {
		t.Fatalf("%d messages left after DELE and QUIT", n)
	}
}
