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

// TestImaplibReadsMaildir: imaplib logs in and reads a message that was
// dropped into an existing Maildir's new/ directory.
func TestImaplibReadsMaildir(t *testing.T) {
	py := testutil.RequireBinary(t, "python3")
	dir := t.TempDir()
	bin := filepath.Join(dir, "imap-maildir")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	md := testutil.TempMaildir(t)
	os.WriteFile(filepath.Join(md, "new", "1700000000.M1P1.host"), []byte("Subject: existing\r\n\r\nfrom the spool\r\n"), 0o600)
	port := testutil.FreePort(t)
	cmd := exec.Command(bin, "-maildir", md, "-user", "me", "-listen", "127.0.0.1:"+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "IMAP_PASSWORD=secret")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var out []byte
	var err error
	for i := 0; i < 50; i++ {
		out, err = exec.Command(py, "-c", `
import imaplib, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login('me', 'secret')
typ, data = m.select('INBOX')
print('EXISTS', data[0].decode())
typ, data = m.fetch('1', '(BODY[])')
print(data[0][1].decode())
m.logout()
`, strconv.Itoa(port)).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "EXISTS 1") || !strings.Contains(string(out), "from the spool") {
		t.Errorf("output:\n%s", out)
	}
}
