package smtp

import (
	"bufio"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// startTLSResumed runs STARTTLS twice with one client session cache and
// reports whether the second handshake resumed the first session.
func startTLSResumed(t *testing.T, addr string, cfg *tls.Config) bool {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	resumed := false
	for range 2 {
		c := dialRaw(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO x", "250-")
		c.expect("STARTTLS", "220 2.0.0")
		tc := tls.Client(c.c, cfg)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		resumed = tc.ConnectionState().DidResume
		// Reading a reply processes a TLS 1.3 ticket, if one was sent.
		c.c, c.r = tc, bufio.NewReader(tc)
		c.expect("EHLO x", "250-")
		c.expect("QUIT", "221 ")
	}
	return resumed
}

// TestSMTPTLSSessionTickets: session tickets are off by default (no
// resumption), on with TLSSessionTickets.
func TestSMTPTLSSessionTickets(t *testing.T) {
	f := testutil.NewTLS(t)
	addr, _ := startServer(t, &Server{TLSConfig: f.ServerConfig()}, nil)
	if startTLSResumed(t, addr, f.ClientConfig()) {
		t.Error("session resumed with tickets off by default")
	}
	addr, _ = startServer(t, &Server{TLSConfig: f.ServerConfig(), TLSSessionTickets: true}, nil)
	if !startTLSResumed(t, addr, f.ClientConfig()) {
		t.Error("no resumption with TLSSessionTickets (the test cannot tell tickets apart)")
	}
}

// TestSMTPTLSHandshakeFails: garbage after STARTTLS ends the session
// with Postfix's log line; the server keeps serving.
func TestSMTPTLSHandshakeFails(t *testing.T) {
	f := testutil.NewTLS(t)
	addr, logs := startServer(t, &Server{TLSConfig: f.ServerConfig()}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.expect("STARTTLS", "220 ")
	c.send("this is not a TLS ClientHello\r\n")
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("session still open after a failed handshake")
	}
	logs.waitLog(t, "SSL_accept error from unknown[127.0.0.1]")
	logs.waitLog(t, "disconnect from unknown[127.0.0.1]")
	c2 := dialRaw(t, addr)
	c2.expect("", "220 ")
}

// TestSMTPLimits: recipients per message (smtpd_recipient_limit), the
// DATA timeout and HELP (not a command Postfix knows).
func TestSMTPLimits(t *testing.T) {
	addr, logs := startServer(t, &Server{MaxRecipients: 2, DataTimeout: 300 * time.Millisecond, Backend: DataFunc((&sink{}).Data)}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("HELP", "500 5.5.2 Error: command not recognized") // as Postfix answers it
	c.expect("EHLO x", "250-")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<b1@y.org>", "250 ")
	c.expect("RCPT TO:<b2@y.org>", "250 ")
	c.expect("RCPT TO:<b3@y.org>", "452 4.5.3 Error: too many recipients")
	c.expect("DATA", "354 ")
	c.send("Subject: slow\r\n")
	if got := c.reply(); !strings.HasPrefix(got, "421 4.4.2 mail.example.jp Error: timeout exceeded") {
		t.Fatalf("data timeout: %q", got)
	}
	logs.waitLog(t, "timeout after DATA from unknown[127.0.0.1]")
}
