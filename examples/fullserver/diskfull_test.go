package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmtplibQueueDiskFull: with the queue directory on a 1 MiB tmpfs,
// a 2 MB message gets 452 4.3.1 (Insufficient system storage), nothing
// of it stays in the queue, and a small message afterwards is queued
// and delivered.
func TestSmtplibQueueDiskFull(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the queue directory")
	}
	in := newInstance(t, "")
	qdir := filepath.Join(in.data, "queue")
	if err := os.MkdirAll(qdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", qdir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", qdir).Run() })
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
try:
    s.sendmail('x@example.org', ['alice@localhost'], 'Subject: big\r\n\r\n' + ('x' * 998 + '\r\n') * 2100)
    print('BIG accepted')
except smtplib.SMTPDataError as e:
    print('BIG', e.smtp_code, e.smtp_error.decode())
s.sendmail('x@example.org', ['alice@localhost'], 'Subject: small\r\n\r\nhello\r\n')
print('SMALL sent')
s.quit()
wait_mail('alice', 1)
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !strings.Contains(out, "BIG 452 4.3.1 Insufficient system storage") || !strings.Contains(out, "SMALL sent") {
		t.Fatalf("python:\n%s", out)
	}
	msgs := waitMessages(t, filepath.Join(in.data, "mail", "localhost", "alice", "Maildir"), 1)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: small") {
		t.Fatalf("alice's Maildir: %d messages", len(msgs))
	}
	// The delivered message leaves the queue just after it lands in
	// the Maildir: wait for that, then nothing of the refused one may
	// be left.
	var list string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var code int
		code, list, _ = runCmd(t, "", "-config", in.cfg, "queue", "list")
		if code == 0 && strings.Contains(list, "Mail queue is empty") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(list, "Mail queue is empty") {
		t.Errorf("queue after the refused message:\n%s", list)
	}
}
