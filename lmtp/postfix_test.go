package lmtp

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixLMTPDelivery has the real Postfix 3.7 deliver into yubin's
// LMTP server, over TCP (virtual_transport = lmtp:inet:...) and over a
// unix socket (lmtp:unix:...), mail sent to Postfix with swaks.
func TestPostfixLMTPDelivery(t *testing.T) {
	swaks := testutil.RequireBinary(t, "swaks")
	dir := testutil.SharedDir(t)
	d := maildirs(t, dir)
	tcpAddr, _ := startLMTP(t, &Server{Deliverer: d}, nil)
	sock := filepath.Join(dir, "lmtp.sock")
	ul, err := ListenUnix(sock, 0o600, "postfix", "")
	if err != nil {
		t.Fatal(err)
	}
	startLMTP(t, &Server{Deliverer: d}, ul)
	p := testutil.StartSMTPPostfix(t, fmt.Sprintf(`virtual_mailbox_domains = example.jp
virtual_transport = lmtp:inet:%s
transport_maps = inline:{ bob@example.jp=lmtp:unix:%s, carol@example.jp=lmtp:unix:%s }
default_transport = error:outside delivery disabled in tests
`, tcpAddr, sock, sock))
	_, port, _ := net.SplitHostPort(p.Addr())
	for _, rcpt := range []string{"alice@example.jp", "carol@example.jp", "bob@example.jp", "nobody@example.jp"} {
		out, err := exec.Command(swaks, "--server", "127.0.0.1", "--port", port, "--from", "sender@example.org", "--to", rcpt,
			"--header", "Subject: via postfix to "+rcpt, "--body", "hello\n.dot line\n").CombinedOutput()
		if err != nil {
			t.Fatalf("swaks to %s: %v\n%s", rcpt, err, out)
		}
	}
	p.WaitLog(t, "to=<alice@example.jp>, relay=127.0.0.1", 20*time.Second)
	p.WaitLog(t, "to=<carol@example.jp>, relay=postfix.example.test["+sock+"]", 20*time.Second)
	p.WaitLog(t, "to=<bob@example.jp>", 20*time.Second)
	p.WaitLog(t, "to=<nobody@example.jp>", 20*time.Second)
	log := p.Log()
	for _, want := range []string{
		"status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <nobody@example.jp> User doesn't exist: nobody@example.jp (in reply to RCPT TO command))",
		"said: 552 5.2.2 <bob@example.jp> Quota exceeded (mailbox for user is full) (in reply to end of DATA command))",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("maillog lacks %q:\n%s", want, log)
		}
	}
	if strings.Count(log, "status=sent (250 2.0.0 <") != 2 {
		t.Errorf("deliveries not both sent:\n%s", log)
	}
	if n := len(files(t, filepath.Join(dir, "bob", "Maildir"))); n != 0 {
		t.Errorf("bob over quota has %d messages", n)
	}
	for _, u := range []string{"alice", "carol"} {
		msgs := files(t, filepath.Join(dir, u, "Maildir"))
		if len(msgs) != 1 {
			t.Fatalf("%s has %d messages\n%s", u, len(msgs), log)
		}
		m := msgs[0]
		if !strings.HasPrefix(m, "Return-Path: <sender@example.org>\r\nDelivered-To: "+u+"@example.jp\r\n") ||
			!strings.Contains(m, "Subject: via postfix to "+u) || !strings.Contains(m, "\r\n.dot line\r\n") ||
			!strings.Contains(m, "by postfix.example.test (Postfix)") {
			t.Fatalf("%s: %q", u, m)
		}
	}
	os.Remove(sock)
}
