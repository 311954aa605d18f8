package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultsAsRootInPrivateHome is the README's first command as root
// on a fresh machine: the checkout lies in a 0700 home, no -config and no
// -data, so the data directory is ./yubin-data (here with a main.cf
// inside that only moves the ports off the well-known ones, which the
// shared test machine may use). The server drops to the mail owner, the
// demo user is printed, and mail sent to it is read back over IMAP: the
// unprivileged owner reaches ./yubin-data although it cannot enter the
// home above it.
func TestDefaultsAsRootInPrivateHome(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: tests the privilege drop")
	}
	home := t.TempDir() // 0700, like /root
	checkout := filepath.Join(home, "yubin")
	data := filepath.Join(checkout, "yubin-data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, dir: checkout, data: data, ports: map[string]int{}, done: make(chan struct{})}
	cf := testConfig(t, "./yubin-data", "")
	if err := os.WriteFile(filepath.Join(data, "main.cf"), []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
	in.start()
	out := in.out()
	i := strings.Index(out, "password: ")
	if i < 0 || !strings.Contains(out, "user: demo@localhost") {
		t.Fatalf("no demo user in:\n%s", out)
	}
	pw := strings.Fields(out[i+len("password: "):])[0]
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", in.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t65534\t65534\t65534\t65534\n") {
		t.Errorf("not running as nobody after start:\n%s", status)
	}
	got := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('x@example.org', ['demo@localhost'], 'Subject: first mail\r\n\r\nhello\r\n')
wait_mail('demo', 1)
s.quit()
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('demo@localhost', os.environ['PW'])
print('EXISTS', m.select('INBOX')[1][0].decode())
m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]), "PW="+pw)
	if !strings.Contains(got, "EXISTS 1") {
		t.Errorf("python:\n%s", got)
	}
}
