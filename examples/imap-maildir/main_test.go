package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	// Port 0: the server binds a free port itself and logs it, so no
	// other test can take it first.
	cmd := exec.Command(bin, "-maildir", md, "-user", "me", "-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "IMAP_PASSWORD=secret")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`imap-maildir serving.* addr=127\.0\.0\.1:([0-9]+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var port string
	select {
	case port = <-addr:
	case <-time.After(20 * time.Second):
		t.Fatal("imap-maildir did not say where it listens")
	}
	out, err := exec.Command(py, "-c", `
import imaplib, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login('me', 'secret')
typ, data = m.select('INBOX')
print('EXISTS', data[0].decode())
typ, data = m.fetch('1', '(BODY[])')
print(data[0][1].decode())
m.logout()
`, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "EXISTS 1") || !strings.Contains(string(out), "from the spool") {
		t.Errorf("output:\n%s", out)
	}
}
