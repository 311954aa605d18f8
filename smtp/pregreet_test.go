package smtp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/restrict"
)

// gatedBackend holds each new session until the test lets it go, so a
// test client can write before the server greets it.
type gatedBackend struct {
	gate chan struct{}
	k    *sink
}

func (b gatedBackend) NewSession(ctx context.Context, c *ConnInfo) (Session, error) {
	<-b.gate
	// Loopback delivers a write to the peer's socket at once; the margin
	// only covers a busy machine.
	time.Sleep(20 * time.Millisecond)
	return DataFunc(b.k.Data), nil
}

// TestSMTPCommandsBeforeGreeting: a client that sends EHLO before the 220
// is logged as Postfix's smtpd logs it ("improper command pipelining
// after CONNECT") and refused by a real restrict.Policy with
// smtpd_client_restrictions = reject_unauth_pipelining (at RCPT, as
// smtpd_delay_reject does); by default (ForbidUnauthPipelining) it gets
// 554 instead of the greeting. A client that waits is unaffected by either.
func TestSMTPCommandsBeforeGreeting(t *testing.T) {
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["local_recipient_maps"] = ""
	p["smtpd_client_restrictions"] = "reject_unauth_pipelining"
	p["smtpd_forbid_unauth_pipelining"] = "no" // the default is yes since Postfix 3.9
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	be := gatedBackend{gate: make(chan struct{}), k: &sink{}}
	addr, logs := startServer(t, &Server{Backend: be, Policy: pol}, nil)

	early := dialRaw(t, addr)
	early.send("EHLO early.example.org\r\n")
	be.gate <- struct{}{}
	early.expect("", "220 mail.example.jp ESMTP")
	early.expect("", "250-mail.example.jp")
	early.expect("MAIL FROM:<a@x.org>", "250 ")
	if got := early.expect("RCPT TO:<b@example.jp>", "503 5.5.0 "); !strings.Contains(got, "Improper use of SMTP command pipelining") {
		t.Fatalf("early client's RCPT: %q", got)
	}
	logs.waitLog(t, `improper command pipelining after CONNECT from unknown[127.0.0.1]: EHLO early.example.org\\r\\n"`)
	if strings.Contains(logs.String(), "pipelining after EHLO") {
		t.Fatalf("logged twice:\n%s", logs)
	}

	polite := dialRaw(t, addr)
	be.gate <- struct{}{}
	polite.expect("", "220 ")
	polite.expect("EHLO polite.example.org", "250-")
	polite.expect("MAIL FROM:<a@x.org>", "250 ")
	polite.expect("RCPT TO:<b@example.jp>", "250 ")
	polite.expect("QUIT", "221 ")

	be2 := gatedBackend{gate: make(chan struct{}), k: &sink{}}
	addr, logs = startServer(t, &Server{Backend: be2}, nil)
	early = dialRaw(t, addr)
	early.send("EHLO early.example.org\r\nMAIL FROM:<a@x.org>\r\n")
	be2.gate <- struct{}{}
	early.expect("", "554 5.5.0 Error: SMTP protocol synchronization")
	if _, err := early.r.ReadByte(); err == nil {
		t.Fatal("session not ended")
	}
	logs.waitLog(t, `improper command pipelining after CONNECT from unknown[127.0.0.1]: EHLO early.example.org\\r\\nMAIL FROM:<a@x.org>\\r\\n"`)
	logs.waitLog(t, "disconnect from unknown[127.0.0.1] commands=0/0")

	polite = dialRaw(t, addr)
	be2.gate <- struct{}{}
	polite.expect("", "220 ")
	polite.expect("EHLO polite.example.org", "250-")
	polite.expect("QUIT", "221 ")
	if n := strings.Count(logs.String(), "improper command pipelining"); n != 1 {
		t.Fatalf("%d pipelining log lines:\n%s", n, logs)
	}
}

// TestLogEscape: the bytes of an improper pipelining line are shown as
// Postfix 3.7 showed them in TestPostfixImproperPipeliningLog.
func TestLogEscape(t *testing.T) {
	in := "EHLO x\r\nNOOP \t\\\x01\x7f\xc3\xa9\a\b\f\v\"\r\n"
	want := `EHLO x\r\nNOOP \t\\\001\177\303\251\a\b\f\v"\r\n`
	if got := logEscape([]byte(in)); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
