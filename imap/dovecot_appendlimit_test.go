package imap

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// dovecotIMAPWith runs Dovecot's imap binary pre-authenticated as user
// u, like testutil.PreauthIMAP, with settings (dovecot.conf lines)
// added, feeds it script and returns its output.
func dovecotIMAPWith(t *testing.T, settings, script string) string {
	t.Helper()
	bin := testutil.RequireBinary(t, "imap")
	dir := testutil.SharedDir(t)
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := "base_dir = " + dir + "\nstate_dir = " + dir + "\nlog_path = /dev/stderr\nssl = no\nprotocols = imap\nmail_location = maildir:~/Maildir\n" + settings
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Env = []string{"USER=u", "HOME=" + home, "PATH=/usr/bin:/bin"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testutil.PlainUID, Gid: testutil.PlainGID}}
	}
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dovecot imap: %v\n%s", err, out)
	}
	return string(out)
}

// TestDovecotAppendLimit: an APPEND over the size limit is refused as
// Dovecot refuses one over quota_max_mail_size: a synchronizing literal
// with a tagged NO and no "+" (the client sends nothing more), a LITERAL+
// one with a tagged NO after its bytes were read and thrown away (the
// next command works), and a message of exactly the limit is stored.
// Dovecot answers [LIMIT] (its quota's code) where yubin answers
// [TOOBIG] (RFC 7889 4), and Dovecot 2.3 does not advertise APPENDLIMIT,
// which yubin does with the limit it enforces.
func TestDovecotAppendLimit(t *testing.T) {
	msg100 := strings.Repeat("x", 98) + "\r\n"
	script := "b APPEND INBOX {101}\r\n" +
		"c APPEND INBOX {101+}\r\n" + msg100 + "x\r\n" +
		"d APPEND INBOX {100}\r\n" + msg100 + "\r\n" +
		"z LOGOUT\r\n"
	out := dovecotIMAPWith(t, "mail_plugins = quota\nplugin {\n  quota = maildir:User quota\n  quota_max_mail_size = 100\n}\n", script)
	// Dovecot: b NO, c NO, then one "+ OK" (for d) and d OK.
	want := regexp.MustCompile(`(?s)\nb NO \[[A-Z]+\] [^\n]*\nc NO \[[A-Z]+\] [^\n]*\n\+ OK\r\nd OK \[APPENDUID `)
	if !want.MatchString(out) {
		t.Fatalf("Dovecot's answers are not as this test expects:\n%s", out)
	}

	env := newTestEnv(t, func(s *Server) { s.AppendLimit = 100 })
	c := env.login(t, "alice", "secret")
	if lines := c.ok("CAPABILITY"); len(lines) != 1 || !strings.Contains(lines[0], " APPENDLIMIT=100 ") {
		t.Fatalf("CAPABILITY: %q", lines)
	}
	c.send("b APPEND INBOX {101}")
	if l := c.line(); !strings.HasPrefix(l, "b NO [TOOBIG] ") {
		t.Fatalf("oversize synchronizing APPEND: %q (want a tagged NO, no continuation)", l)
	}
	c.send("c APPEND INBOX {101+}\r\n" + msg100 + "x")
	if l := c.line(); !strings.HasPrefix(l, "c NO [TOOBIG] ") {
		t.Fatalf("oversize LITERAL+ APPEND: %q", l)
	}
	c.send("d APPEND INBOX {100}")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("APPEND of exactly the limit: %q", l)
	}
	c.send(msg100)
	if l := c.line(); !strings.HasPrefix(l, "d OK [APPENDUID ") {
		t.Fatalf("APPEND of exactly the limit: %q", l)
	}
	// Beyond the discard bound (1 MiB) a LITERAL+ ends the session.
	c.send("e APPEND INBOX {2000000+}")
	if l := c.line(); !strings.HasPrefix(l, "* BYE ") {
		t.Fatalf("huge LITERAL+ APPEND: %q", l)
	}
}
