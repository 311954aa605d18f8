package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixDeliversOverLMTP: a real Postfix 3.7 hands its local
// domain's mail to yubin's LMTP socket and it lands in yubin's store
// (seed 001's "mailbox_transport = lmtp:unix:private/dovecot-lmtp", with
// yubin in Dovecot's place): Postfix's local(8) hands the mailbox
// delivery to its lmtp client; an unknown user bounces with 550 5.1.1.
func TestPostfixDeliversOverLMTP(t *testing.T) {
	t.Parallel()
	swaks := testutil.RequireBinary(t, "swaks")
	// The socket lives where Postfix's lmtp client (user postfix) can reach it.
	sock := filepath.Join(testutil.SharedDir(t), "lmtp.sock")
	in := newInstance(t, "lmtp_unix_listener = "+sock+"\n")
	os.MkdirAll(in.data, 0o755)
	if code, _, stderr := runCmd(t, "pw-alice\n", "-config", in.cfg, "adduser", "alice@example.jp"); code != 0 {
		t.Fatal(stderr)
	}
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	in.start()
	p := testutil.StartSMTPPostfix(t, "mydestination = example.jp\nlocal_recipient_maps =\nmailbox_transport = lmtp:unix:"+sock+"\n")
	for _, rcpt := range []string{"alice@example.jp", "nobody@example.jp"} {
		out, err := exec.Command(swaks, "--server", "127.0.0.1", "--port", strconv.Itoa(p.SMTPPort), "--from", "sender@example.org",
			"--to", rcpt, "--header", "Subject: via postfix", "--body", "over lmtp\n").CombinedOutput()
		if err != nil {
			t.Fatalf("swaks %s: %v\n%s", rcpt, err, out)
		}
	}
	p.WaitLog(t, "to=<alice@example.jp>", 20*time.Second)
	p.WaitLog(t, "to=<nobody@example.jp>", 20*time.Second)
	log := p.Log()
	if !strings.Contains(log, "to=<alice@example.jp>, relay=") || !strings.Contains(log, "status=sent (250 2.0.0") {
		t.Errorf("alice not delivered:\n%s", log)
	}
	if !strings.Contains(log, "said: 550 5.1.1 <nobody@example.jp> User doesn't exist") {
		t.Errorf("unknown user not bounced with 550 5.1.1:\n%s", log)
	}
	out := python(t, pyPrelude+`
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@example.jp', 'pw-alice')
m.select('INBOX')
typ, data = m.fetch('1', '(BODY.PEEK[])')
print(data[0][1].decode())
m.logout()
`, "IMAP="+strconv.Itoa(in.ports["imap"]))
	if !strings.Contains(out, "Subject: via postfix") || !strings.Contains(out, "Delivered-To: alice@example.jp") {
		t.Errorf("message in INBOX:\n%s", out)
	}
}

// TestMbsyncSyncsAccount: isync's mbsync copies the account's INBOX over
// IMAPS into a local Maildir.
func TestMbsyncSyncsAccount(t *testing.T) {
	t.Parallel()
	mbsync := testutil.RequireBinary(t, "mbsync")
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	python(t, pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
for i in range(3):
    s.sendmail('x@example.org', ['alice@localhost'], 'Subject: sync %d\r\n\r\nbody %d\r\n' % (i, i))
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	dir := t.TempDir()
	local := filepath.Join(dir, "mail") + "/"
	os.MkdirAll(local, 0o700)
	rc := filepath.Join(dir, "mbsyncrc")
	mbsyncRCFor(t, in, "alice", filepath.Join(in.data, "tls", "cert.pem"), local, rc, "Patterns *\nCreate Near\n")
	out, err := exec.Command(mbsync, "-c", rc, "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
	got, _ := filepath.Glob(filepath.Join(local, "INBOX", "cur", "*"))
	gotNew, _ := filepath.Glob(filepath.Join(local, "INBOX", "new", "*"))
	if len(got)+len(gotNew) != 3 {
		t.Errorf("mbsync copied %d+%d messages, want 3\n%s", len(got), len(gotNew), out)
	}
	for _, box := range []string{"Sent", "Trash"} {
		if _, err := os.Stat(filepath.Join(local, box)); err != nil {
			t.Errorf("mbsync did not create %s: %v", box, err)
		}
	}
}

// TestPostfixSwaksDovecotSASL: a real Postfix with smtpd_sasl_type =
// dovecot and smtpd_sasl_path = <yubin's auth_client_listener>
// authenticates swaks against yubin's passwd-file users (235 for the
// right password, 535 for a wrong one).
func TestPostfixSwaksDovecotSASL(t *testing.T) {
	t.Parallel()
	swaks := testutil.RequireBinary(t, "swaks")
	sock := filepath.Join(testutil.SharedDir(t), "auth-client")
	in := newInstance(t, "auth_client_listener = "+sock+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	pf := testutil.StartSMTPPostfix(t, "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\nsmtpd_sasl_path = "+sock+"\n")
	for _, tc := range []struct{ pw, want string }{{"pw-alice", "235 "}, {"wrong", "535 "}} {
		out, _ := exec.Command(swaks, "--server", pf.Addr(), "--auth", "PLAIN", "--auth-user", "alice@localhost",
			"--auth-password", tc.pw, "--to", "x@example.test", "--quit-after", "AUTH", "--timeout", "20").CombinedOutput()
		if !strings.Contains(string(out), "<~  "+tc.want) && !strings.Contains(string(out), "<-  "+tc.want) && !strings.Contains(string(out), "<** "+tc.want) {
			t.Errorf("password %q: want %q in:\n%s\nmaillog:\n%s", tc.pw, tc.want, out, pf.Log())
		}
	}
}
