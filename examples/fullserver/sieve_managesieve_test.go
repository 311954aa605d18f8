package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSieveConnectScriptFilesSMTPMail is issue 16's end-to-end case: a
// script uploaded and activated with the real sieve-connect over the
// fullserver's ManageSieve (STARTTLS, the user's password) files a
// message delivered over SMTP into a folder it creates on the fly, which
// IMAP then shows; mail the script does not match stays in INBOX.
func TestSieveConnectScriptFilesSMTPMail(t *testing.T) {
	t.Parallel()
	bin := testutil.RequireBinary(t, "sieve-connect")
	in := newInstance(t, "protocols = imap lmtp sieve\nmanagesieve_port = 0\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	port := in.ports["sieve"]
	if port == 0 {
		t.Fatalf("no sieve listener in the welcome text:\n%s", in.out())
	}
	local := filepath.Join(t.TempDir(), "reports.sieve")
	script := "require [\"fileinto\", \"mailbox\"];\r\nif header :contains \"subject\" \"report\" {\r\n  fileinto :create \"Reports/2026\";\r\n}\r\n"
	if err := os.WriteFile(local, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		base := []string{"--server", "127.0.0.1", "--port", strconv.Itoa(port), "--user", "alice@localhost", "--passwordfd", "0",
			"--tlscafile", filepath.Join(in.data, "tls", "cert.pem"), "--tlshostname", "localhost", "--noclearauth", "--authmech", "PLAIN"}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		cmd.Stdin = strings.NewReader("pw-alice\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sieve-connect %v: %v\n%s", args, err, out)
		}
	}
	run("--upload", "--localsieve", local, "--remotesieve", "reports")
	run("--activate", "--remotesieve", "reports")

	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('bob@example.net', ['alice@localhost'], 'From: bob@example.net\r\nTo: alice@localhost\r\nSubject: monthly report\r\n\r\nnumbers\r\n')
s.sendmail('bob@example.net', ['alice@localhost'], 'From: bob@example.net\r\nTo: alice@localhost\r\nSubject: hello\r\n\r\nhi\r\n')
s.quit()
wait_mail('alice', 1)
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
for _ in range(100):
    typ, data = m.status('Reports/2026', '(MESSAGES)')
    if typ == 'OK' and b'MESSAGES 1' in data[0]:
        break
    time.sleep(0.05)
print('STATUS', typ, data)
typ, data = m.select('Reports/2026', readonly=True)
typ, data = m.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
print('FILED', data[0][1].decode().strip())
typ, data = m.select('INBOX', readonly=True)
typ, data = m.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
print('INBOX', [d[1].decode().strip() for d in data if isinstance(d, tuple)])
m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]))
	if !strings.Contains(out, "FILED Subject: monthly report") {
		t.Errorf("the report was not filed into Reports/2026:\n%s", out)
	}
	if !strings.Contains(out, "INBOX ['Subject: hello']") {
		t.Errorf("INBOX should hold only the message the script did not match:\n%s", out)
	}
}
