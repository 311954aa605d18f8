package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPythonLMTPDelivers: Python's smtplib.LMTP delivers over the unix
// socket into a passwd-file user's Maildir; an unknown user gets 550.
func TestPythonLMTPDelivers(t *testing.T) {
	py := testutil.RequireBinary(t, "python3")
	dir := t.TempDir()
	bin := filepath.Join(dir, "lmtp-maildir")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	passwd := filepath.Join(dir, "passwd")
	os.WriteFile(passwd, []byte("alice@example.jp:{PLAIN}x::::::\n"), 0o600)
	sock := filepath.Join(dir, "lmtp.sock")
	cmd := exec.Command(bin, "-socket", sock, "-passwd", passwd, "-mail", dir+"/mail/%d/%n/Maildir")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := exec.Command(py, "-c", `
import smtplib, sys
s = smtplib.LMTP(sys.argv[1])
try:
    s.sendmail('x@example.org', ['alice@example.jp', 'nobody@example.jp'], 'Subject: lmtp\r\n\r\nhi\r\n')
except smtplib.SMTPRecipientsRefused as e:
    print('refused', e.recipients)
r = s.sendmail('x@example.org', ['alice+tag@example.jp', 'nobody@example.jp'], 'Subject: lmtp2\r\n\r\nhi\r\n')
print('partial', r)
`, sock).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "550") {
		t.Errorf("unknown user not refused with 550:\n%s", out)
	}
	// Delivery may move earlier messages from new/ to cur/, as Dovecot does.
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "example.jp", "alice", "Maildir", "[nc][eu][wr]", "*"))
	if len(files) != 2 {
		t.Errorf("alice has %d messages, want 2\n%s", len(files), out)
	}
}
