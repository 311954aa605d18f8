package imap

import (
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// serveTLS adds an implicit-TLS listener (port 993 style) to env.
func (e *testEnv) serveTLS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := e.srv.ServeTLS(l); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	}()
	return l.Addr().String()
}

func curl(t *testing.T, args ...string) string {
	t.Helper()
	bin := testutil.RequireBinary(t, "curl")
	out, err := exec.Command(bin, append([]string{"-sS", "--max-time", "20"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestCurlIMAP fetches and lists over plain imap://, over STARTTLS
// (--ssl-reqd) and over imaps:// (implicit TLS), with plaintext login
// refused before TLS (LOGINDISABLED).
func TestCurlIMAP(t *testing.T) {
	fx := testutil.NewTLS(t)
	env := newTestEnv(t, func(s *Server) {
		s.TLSConfig = fx.ServerConfig()
		s.Authenticator.(*testAuth).insecureOK = false
	})
	tlsAddr := env.serveTLS(t)

	// Seed a message over imaps with curl's upload (APPEND).
	msg := "From: curl@example.org\r\nSubject: via curl\r\n\r\nbody line\r\n"
	up := t.TempDir() + "/msg.eml"
	writeFile(t, up, msg)
	curl(t, "--cacert", fx.CertFile, "-u", "alice:secret", "-T", up, "imaps://"+tlsAddr+"/INBOX")

	// imaps:// fetch by UID.
	got := curl(t, "--cacert", fx.CertFile, "-u", "alice:secret", "imaps://"+tlsAddr+"/INBOX;UID=1")
	if got != msg {
		t.Fatalf("imaps fetch = %q, want %q", got, msg)
	}
	// imap:// with STARTTLS required.
	got = curl(t, "--ssl-reqd", "--cacert", fx.CertFile, "-u", "alice:secret", "imap://"+env.addr+"/INBOX;UID=1")
	if got != msg {
		t.Fatalf("starttls fetch = %q", got)
	}
	// LIST over imap:// + STARTTLS.
	got = curl(t, "--ssl-reqd", "--cacert", fx.CertFile, "-u", "alice:secret", "imap://"+env.addr+"/")
	for _, box := range []string{"INBOX", "Sent", "Trash"} {
		if !strings.Contains(got, box) {
			t.Fatalf("LIST output lacks %s:\n%s", box, got)
		}
	}
	// Without TLS the plaintext login is refused.
	bin := testutil.RequireBinary(t, "curl")
	out, err := exec.Command(bin, "-sS", "--max-time", "20", "-u", "alice:secret", "imap://"+env.addr+"/INBOX;UID=1").CombinedOutput()
	if err == nil {
		t.Fatalf("plaintext login before STARTTLS succeeded: %s", out)
	}
	// The capability list before TLS says so.
	c := env.dial(t)
	lines, _ := c.cmd("CAPABILITY")
	if !strings.Contains(lines[0], "LOGINDISABLED") || !strings.Contains(lines[0], "STARTTLS") {
		t.Fatalf("capabilities before TLS: %q", lines)
	}
	_, st := c.cmd("LOGIN alice secret")
	if !strings.HasPrefix(st, "NO [PRIVACYREQUIRED]") {
		t.Fatalf("LOGIN before TLS: %q", st)
	}
}
