package pop3

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// fetchmail runs one fetchmail poll against addr as alice and returns
// what its MDA ("cat >> file") received in this run. opts are extra
// server/user options of the rc file (keep, uidl, ssl ...).
type fetchmailRun struct {
	t   *testing.T
	dir string
	n   int
}

func newFetchmail(t *testing.T) *fetchmailRun {
	testutil.RequireBinary(t, "fetchmail")
	return &fetchmailRun{t: t, dir: t.TempDir()}
}

func (f *fetchmailRun) poll(addr, serverOpts, userOpts string) string {
	f.t.Helper()
	f.n++
	host, port, _ := strings.Cut(addr, ":")
	out := filepath.Join(f.dir, fmt.Sprintf("out%d", f.n))
	rc := filepath.Join(f.dir, "rc")
	text := fmt.Sprintf("set no syslog\nset invisible\npoll %s service %s protocol pop3 %s auth password\n  user \"alice\" password \"secret\"\n  mda \"cat >> %s\"\n  %s\n",
		host, port, serverOpts, out, userOpts)
	if err := os.WriteFile(rc, []byte(text), 0o600); err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(testutil.LookBinary("fetchmail"), "-f", rc, "--idfile", filepath.Join(f.dir, "ids"), "--pidfile", filepath.Join(f.dir, "pid"), "-v")
	cmd.Env = append(os.Environ(), "HOME="+f.dir)
	log, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: no new mail
		f.t.Fatalf("fetchmail: %v\n%s", err, log)
	}
	b, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		f.t.Fatal(err)
	}
	return string(b)
}

// lf is a message as fetchmail hands it to an MDA: LF line endings, one
// final newline.
func lf(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		m = strings.ReplaceAll(m, "\r\n", "\n")
		if !strings.HasSuffix(m, "\n") {
			m += "\n"
		}
		b.WriteString(m)
	}
	return b.String()
}

func TestFetchmailKeepUIDL(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1, msg2, msg3)
	fm := newFetchmail(t)
	if got, want := fm.poll(e.addr, "uidl", "sslproto ''\n  keep"), lf(msg1, msg2, msg3); got != want {
		t.Fatalf("first poll delivered %q, want %q", got, want)
	}
	if got := fm.poll(e.addr, "uidl", "sslproto ''\n  keep"); got != "" {
		t.Fatalf("second poll with --uidl fetched %q again", got)
	}
	e.deliver("alice", msg2)
	if got, want := fm.poll(e.addr, "uidl", "sslproto ''\n  keep"), lf(msg2); got != want {
		t.Fatalf("third poll delivered %q, want only the new message", got)
	}
	if n := len(e.inbox("alice")); n != 4 {
		t.Fatalf("%d messages left with keep, want 4", n)
	}
}

// TestFetchmailKeep: --keep without --uidl downloads everything and
// leaves it on the server, marked \Seen by RETR.
func TestFetchmailKeep(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1, msg2, msg3)
	fm := newFetchmail(t)
	if got, want := fm.poll(e.addr, "", "sslproto ''\n  keep"), lf(msg1, msg2, msg3); got != want {
		t.Fatalf("poll delivered %q, want %q", got, want)
	}
	infos := e.inbox("alice")
	if len(infos) != 3 {
		t.Fatalf("%d messages left with keep, want 3", len(infos))
	}
	for _, m := range infos {
		if m.Flags.System&store.Seen == 0 {
			t.Errorf("UID %d not \\Seen after fetchmail's RETR", m.UID)
		}
	}
}

func TestFetchmailDelete(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1, msg2, msg3)
	fm := newFetchmail(t)
	if got, want := fm.poll(e.addr, "", "sslproto ''\n  nokeep"), lf(msg1, msg2, msg3); got != want {
		t.Fatalf("poll delivered %q, want %q", got, want)
	}
	if n := len(e.inbox("alice")); n != 0 {
		t.Fatalf("%d messages left after fetchmail without keep", n)
	}
}

func TestFetchmailSSL(t *testing.T) {
	fx := testutil.NewTLS(t)
	srv := &Server{TLSConfig: fx.ServerConfig()}
	e := startRealAuth(t, srv)
	e.deliver("alice", msg1, msg3)
	l, err := dialListener()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	fm := newFetchmail(t)
	opts := fmt.Sprintf("ssl sslcertck sslcommonname localhost sslcertfile %q\n  keep", fx.CertFile)
	if got, want := fm.poll(l.Addr().String(), "uidl", opts), lf(msg1, msg3); got != want {
		t.Fatalf("pop3s poll delivered %q, want %q", got, want)
	}
}

func TestFetchmailSTARTTLS(t *testing.T) {
	fx := testutil.NewTLS(t)
	a := &testAuthenticator{users: map[string]string{"alice": "secret"}, insecureDenied: true}
	e := startServer(t, &Server{Authenticator: a, TLSConfig: fx.ServerConfig()})
	e.deliver("alice", msg2, msg1)
	fm := newFetchmail(t)
	opts := fmt.Sprintf("sslproto 'tls1.2+' sslcertck sslcommonname localhost sslcertfile %q\n  nokeep", fx.CertFile)
	if got, want := fm.poll(e.addr, "", opts), lf(msg2, msg1); got != want {
		t.Fatalf("STLS poll delivered %q, want %q", got, want)
	}
	if n := len(e.inbox("alice")); n != 0 {
		t.Fatalf("%d messages left", n)
	}
}
