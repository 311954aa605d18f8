package imap

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestFetchmailIMAP downloads a mailbox with fetchmail over IMAP into an
// MDA and checks that the messages arrive whole and are deleted on the
// server afterwards (fetchmail's default, no "keep").
func TestFetchmailIMAP(t *testing.T) {
	bin := testutil.RequireBinary(t, "fetchmail")
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	for i := 0; i < 3; i++ {
		c.appendRaw("INBOX", fmt.Sprintf("From: f@example.org\r\nTo: alice@example.org\r\nSubject: fm %d\r\n\r\nfetch body %d\r\n", i, i))
	}
	c.ok("LOGOUT")

	dir := t.TempDir()
	out := filepath.Join(dir, "out.mbox")
	host, port, _ := net.SplitHostPort(env.addr)
	rc := filepath.Join(dir, "fetchmailrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`set no bouncemail
poll %s service %s protocol IMAP auth password
  user "alice" there with password "secret" is "%s" here
  sslproto ""
  mda "/bin/sh -c 'cat >> %s'"
`, host, port, currentUser(), out)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", rc, "-v", "--nosyslog", "--pidfile", filepath.Join(dir, "pid"))
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	o, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, o)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no mail delivered: %v\n%s", err, o)
	}
	for i := 0; i < 3; i++ {
		if !strings.Contains(string(got), fmt.Sprintf("fetch body %d", i)) {
			t.Fatalf("message %d missing from MDA output:\n%s\n%s", i, got, o)
		}
	}
	c = env.login(t, "alice", "secret")
	lines := c.ok("STATUS INBOX (MESSAGES)")
	if lines[0] != `* STATUS "INBOX" (MESSAGES 0)` {
		t.Fatalf("after fetchmail: %q\n%s", lines, o)
	}
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}
