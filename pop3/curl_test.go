package pop3

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// runCurl runs curl with args and returns its standard output.
func runCurl(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := testutil.RequireBinary(t, "curl")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-sS", "--max-time", "20"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func wantBytes(t *testing.T, what string, got []byte, msg string) {
	t.Helper()
	want := crlf(msg)
	if !strings.HasSuffix(want, "\r\n") {
		want += "\r\n"
	}
	if string(got) != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// TestCurlRetrList fetches each message with curl's default SASL PLAIN
// login, with SASL-IR, with AUTH LOGIN and with APOP, and lists.
func TestCurlRetrList(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1, msg2, msg3)
	infos := e.inbox("alice")
	base := "pop3://" + e.addr + "/"
	wantBytes(t, "RETR 1", runCurl(t, "-u", "alice:secret", base+"1"), msg1)
	wantBytes(t, "RETR 2 (SASL-IR)", runCurl(t, "--sasl-ir", "-u", "alice:secret", base+"2"), msg2)
	wantBytes(t, "RETR 3 (AUTH LOGIN)", runCurl(t, "--login-options", "AUTH=LOGIN", "-u", "alice:secret", base+"3"), msg3)
	wantBytes(t, "RETR 1 (APOP)", runCurl(t, "--login-options", "AUTH=+APOP", "-u", "alice:secret", base+"1"), msg1)
	list := string(runCurl(t, "-u", "alice:secret", base))
	want := ""
	for i, m := range infos {
		want += itoa(i+1) + " " + itoa(int(m.Size)) + "\r\n"
	}
	if list != want {
		t.Errorf("curl LIST = %q, want %q", list, want)
	}
	uidl := string(runCurl(t, "-X", "UIDL", "-u", "alice:secret", base))
	if n := strings.Count(uidl, "\r\n"); n != 3 || !strings.HasPrefix(uidl, "1 00000001") {
		t.Errorf("curl UIDL = %q", uidl)
	}
}

func TestCurlWrongPassword(t *testing.T) {
	e := startRealAuth(t, &Server{})
	bin := testutil.RequireBinary(t, "curl")
	out, err := exec.Command(bin, "-sS", "--max-time", "20", "-u", "alice:wrong", "pop3://"+e.addr+"/").CombinedOutput()
	if err == nil {
		t.Fatalf("curl logged in with a wrong password: %s", out)
	}
}

func TestCurlDele(t *testing.T) {
	e := startRealAuth(t, &Server{})
	e.deliver("alice", msg1, msg2)
	runCurl(t, "-X", "DELE", "-I", "-u", "alice:secret", "pop3://"+e.addr+"/1")
	got := e.inbox("alice")
	if len(got) != 1 || !strings.Contains(subjectOf(t, e, got[0].UID), "Subject: two") {
		t.Fatalf("after curl DELE 1: %+v", got)
	}
}

func TestCurlPOP3S(t *testing.T) {
	fx := testutil.NewTLS(t)
	srv := &Server{TLSConfig: fx.ServerConfig()}
	e := startRealAuth(t, srv)
	e.deliver("alice", msg1, msg3)
	l, err := dialListener()
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	wantBytes(t, "pop3s RETR 2", runCurl(t, "--cacert", fx.CertFile, "-u", "alice:secret", "pop3s://"+l.Addr().String()+"/2"), msg3)
}

func TestCurlSTLS(t *testing.T) {
	fx := testutil.NewTLS(t)
	a := &testAuthenticator{users: map[string]string{"alice": "secret"}, insecureDenied: true}
	e := startServer(t, &Server{Authenticator: a, TLSConfig: fx.ServerConfig()})
	e.deliver("alice", msg1)
	wantBytes(t, "STLS RETR 1", runCurl(t, "--ssl-reqd", "--cacert", fx.CertFile, "-u", "alice:secret", "pop3://"+e.addr+"/1"), msg1)
}
