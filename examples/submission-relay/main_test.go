package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkNullClientRelays: the program relays what Python's
// smtplib submits from 127.0.0.1 to the relayhost, a Postfix smtp-sink,
// and refuses a client outside -mynetworks (127.0.0.2).
func TestSmtpSinkNullClientRelays(t *testing.T) {
	py := testutil.RequireBinary(t, "python3")
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	dir := t.TempDir()
	bin := filepath.Join(dir, "submission-relay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-mynetworks", "127.0.0.1/32", "-queue", filepath.Join(dir, "queue"),
		"-hostname", "null.example.jp", "-relayhost", "[127.0.0.1]:"+strconv.Itoa(sink.Port))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening on ") {
		t.Fatalf("no address: %q %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(py, "-c", `
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]))
s.sendmail('app@null.example.jp', ['someone@example.net'], 'Subject: via the null client\r\n\r\nhello\r\n')
s.quit()
try:
    s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), source_address=('127.0.0.2', 0))
    print('OUTSIDE', s.ehlo())
except smtplib.SMTPException as e:
    print('OUTSIDE refused', e)
`, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OUTSIDE refused") || !strings.Contains(string(out), "554") {
		t.Errorf("a client outside mynetworks was not refused:\n%s", out)
	}
	var msgs []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if msgs = sink.Messages(t); len(msgs) > 0 {
			break
		}
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: via the null client") || !strings.Contains(msgs[0], "someone@example.net") {
		t.Fatalf("the relayhost got %q", msgs)
	}
}
