package queue

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkMXDelivery delivers through MX lookup (real nsd) to the
// real smtp-sink: three recipients accepted, DSN parameters passed on
// (smtp-sink offers DSN), AUTH= passed xtext-encoded (it offers AUTH),
// the content arrives dot-stuffed and intact.
func TestSmtpSinkMXDelivery(t *testing.T) {
	t.Parallel()
	res := startSMTPDNS(t)
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	log, lb := newSMTPLogger()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, Port: smtpItoa(sink.Port), Protocols: "ipv4", Logger: log}
	defer tr.Close()
	d := newSMTPDelivery("multi.yubin.test", smtpTestMessage, "a@multi.yubin.test", "b@multi.yubin.test", "c@multi.yubin.test")
	d.Envelope.Ret, d.Envelope.EnvID = "HDRS", "env+2Bid"
	d.Envelope.Auth = "joe+x@example.jp"
	d.Recipients[0].Notify = "SUCCESS,FAILURE"
	d.Recipients[1].Orig = "alias@multi.yubin.test"
	rs := smtpDeliver(t, tr, d)
	for _, r := range rs {
		wantSMTPStatus(t, r, Sent, "2.0.0", "250 2.0.0 Ok")
		if !strings.HasPrefix(r.Relay, "mx4.yubin.test[127.0.0.1]:") && !strings.HasPrefix(r.Relay, "mx4b.yubin.test[127.0.0.1]:") || !r.DSNPassed || !r.Remote || r.Code != 250 {
			t.Errorf("result %+v", r)
		}
	}
	msgs := sink.WaitMessages(t, 1, 5e9)
	if len(msgs) != 1 {
		t.Fatalf("%d messages dumped", len(msgs))
	}
	m := msgs[0]
	t.Logf("dump:\n%s\nlog:\n%s", m, lb)
	for _, l := range []string{
		"X-Helo-Args: client.yubin.test",
		"X-Rcpt-Args: <a@multi.yubin.test> NOTIFY=SUCCESS,FAILURE",
		"X-Rcpt-Args: <b@multi.yubin.test> ORCPT=rfc822;alias@multi.yubin.test",
		"X-Rcpt-Args: <c@multi.yubin.test>",
		"Hello.",
		".leading dot",
	} {
		if !testutil.HasLine(m, l) {
			t.Errorf("dump lacks %q", l)
		}
	}
	if !strings.Contains(m, "RET=HDRS") || !strings.Contains(m, "ENVID=env+2Bid") || !strings.Contains(m, "AUTH=joe+2Bx@example.jp") {
		t.Errorf("MAIL FROM parameters not passed on:\n%s", m)
	}
}

// TestSmtpSinkReplies drives the real smtp-sink into refusing, stalling
// and hanging up at each phase, and checks the results in Postfix's
// words: 4xx defers, 5xx bounces, each phase's time limit defers with
// "timed out while ...", a hang-up with "lost connection ... while ...".
// Each case is bounded by a 1s phase limit.
func TestSmtpSinkReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   []string
		status Status
		dsn    string
		text   string
	}{
		{"rcpt-4xx", []string{"-r", "RCPT"}, Deferred, "4.3.0", "said: 450 4.3.0 Error: command failed (in reply to RCPT TO command)"},
		{"rcpt-5xx", []string{"-f", "RCPT"}, Bounced, "5.3.0", "said: 500 5.3.0 Error: command failed (in reply to RCPT TO command)"},
		{"mail-5xx", []string{"-f", "MAIL"}, Bounced, "5.3.0", "(in reply to MAIL FROM command)"},
		{"data-4xx", []string{"-r", "DATA"}, Deferred, "4.3.0", "(in reply to DATA command)"},
		{"dot-5xx", []string{"-f", "."}, Bounced, "5.3.0", "(in reply to end of DATA command)"},
		{"greeting-4xx", []string{"-r", "CONNECT"}, Deferred, "4.3.0", "refused to talk to me: 450 4.3.0 Error: command failed"},
		{"greeting-timeout", []string{"-W", "CONNECT:20"}, Deferred, "4.4.2", "timed out while receiving the initial server greeting"},
		{"ehlo-timeout", []string{"-W", "EHLO:20"}, Deferred, "4.4.2", "timed out while performing the EHLO handshake"},
		{"mail-timeout", []string{"-W", "MAIL:20", "-p"}, Deferred, "4.4.2", "timed out while sending MAIL FROM"},
		{"rcpt-timeout", []string{"-W", "RCPT:20", "-p"}, Deferred, "4.4.2", "timed out while sending RCPT TO"},
		{"data-timeout", []string{"-W", "DATA:20", "-p"}, Deferred, "4.4.2", "timed out while sending DATA command"},
		{"dot-timeout", []string{"-W", ".:20"}, Deferred, "4.4.2", "timed out while sending end of data -- message may be sent more than once"},
		{"hangup-rcpt", []string{"-q", "RCPT", "-p"}, Deferred, "4.4.2", "lost connection with 127.0.0.1[127.0.0.1]:"},
		{"hangup-dot", []string{"-q", "."}, Deferred, "4.4.2", "while sending end of data -- message may be sent more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := testutil.StartSmtpSink(t, "127.0.0.1", tc.opts...)
			tr := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: TLSNone,
				HeloTimeout: time.Second, MailTimeout: time.Second, RcptTimeout: time.Second,
				DataInitTimeout: time.Second, DataDoneTimeout: time.Second}
			defer tr.Close()
			start := time.Now()
			rs := smtpDeliver(t, tr, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test", "b@yubin.test"))
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			for _, r := range rs {
				wantSMTPStatus(t, r, tc.status, tc.dsn, tc.text)
				if r.Relay != "127.0.0.1[127.0.0.1]:"+smtpItoa(sink.Port) {
					t.Errorf("relay=%s", r.Relay)
				}
			}
		})
	}
}

// TestSmtpSinkConnectionRefused: nothing listens; Postfix's text. With
// a list of nexthops the next one is tried.
func TestSmtpSinkConnectionRefused(t *testing.T) {
	t.Parallel()
	// A port held by a socket that never listens: refused for the whole
	// test, and no other test can take it and answer.
	addr, err := net.ResolveTCPAddr("tcp", testutil.RefusedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	tr := &SMTPTransport{Hostname: "client.yubin.test"}
	rs := smtpDeliver(t, tr, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(addr.Port), smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.4.1", "connect to 127.0.0.1[127.0.0.1]:"+smtpItoa(addr.Port)+": Connection refused")

	// A relayhost list: the first refuses, the second (the real
	// smtp-sink) takes the mail.
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	rs = smtpDeliver(t, tr, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(addr.Port)+", [127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250")
	if rs[0].Relay != "127.0.0.1[127.0.0.1]:"+smtpItoa(sink.Port) {
		t.Errorf("relay=%s", rs[0].Relay)
	}
	tr.Close()
}

// smtpCountingProxy forwards TCP connections to addr and counts them.
type smtpCountingProxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns int
}

func newSMTPCountingProxy(t *testing.T, addr string) *smtpCountingProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &smtpCountingProxy{l: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns++
			p.mu.Unlock()
			go func() {
				defer c.Close()
				u, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, u)
			}()
		}
	}()
	return p
}

func (p *smtpCountingProxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

func (p *smtpCountingProxy) port() int { return p.l.Addr().(*net.TCPAddr).Port }

// TestSmtpSinkConnectionReuse: three deliveries to the same nexthop in a
// row share one connection to the real smtp-sink (RSET between them);
// after smtp_connection_cache_time_limit the idle connection is closed
// and the next delivery opens a new one. With the cache off, each
// delivery connects.
func TestSmtpSinkConnectionReuse(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	p := newSMTPCountingProxy(t, sink.Addr)
	tr := &SMTPTransport{Hostname: "client.yubin.test", ConnectionCacheTimeLimit: 300 * time.Millisecond}
	defer tr.Close()
	nh := "[127.0.0.1]:" + smtpItoa(p.port())
	for i := 0; i < 3; i++ {
		rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
		wantSMTPStatus(t, rs[0], Sent, "", "250")
		if i > 0 && rs[0].Conn != 0 {
			t.Errorf("reused connection reports %v setup time", rs[0].Conn)
		}
	}
	if n := p.count(); n != 1 {
		t.Errorf("%d connections for 3 deliveries, want 1", n)
	}
	time.Sleep(600 * time.Millisecond)
	rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "", "250")
	if n := p.count(); n != 2 {
		t.Errorf("%d connections after the cache time limit, want 2", n)
	}
	if got := len(sink.WaitMessages(t, 4, 5*time.Second)); got != 4 {
		t.Errorf("%d messages dumped, want 4", got)
	}
	off := &SMTPTransport{Hostname: "client.yubin.test", DisableConnectionCache: true}
	for i := 0; i < 2; i++ {
		smtpDeliver(t, off, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	}
	if n := p.count(); n != 4 {
		t.Errorf("%d connections with the cache off, want 4", n)
	}
}

// TestSmtpSinkTLSRequired: smtp-sink offers no STARTTLS; at level
// encrypt the mail waits (Postfix's text, 4.7.4) instead of going in
// plaintext; at level may it goes in plaintext; a level not implemented
// (fingerprint) defers.
func TestSmtpSinkTLSRequired(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	nh := "[127.0.0.1]:" + smtpItoa(sink.Port)
	tr := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: TLSEncrypt}
	rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.7.4", "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]:"+smtpItoa(sink.Port))
	fp := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: "fingerprint"}
	rs = smtpDeliver(t, fp, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.7.5", `smtp_tls_security_level "fingerprint" is not supported`)
	may := &SMTPTransport{Hostname: "client.yubin.test"}
	defer may.Close()
	rs = smtpDeliver(t, may, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "", "250")
	if n := len(sink.WaitMessages(t, 1, 5*time.Second)); n != 1 {
		t.Errorf("%d messages dumped, want 1", n)
	}
}

// TestSmtpSinkExtensions: smtp-sink offers 8BITMIME but not SMTPUTF8 nor
// BINARYMIME: BODY=8BITMIME is passed on (and left out for a server
// without 8BITMIME, smtp-sink -8); an address that needs SMTPUTF8
// bounces with 5.6.7 and binary content with 5.6.3, without a
// transaction.
func TestSmtpSinkExtensions(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	no8 := testutil.StartSmtpSink(t, "127.0.0.1", "-8")
	tr := &SMTPTransport{Hostname: "client.yubin.test", DisableConnectionCache: true}
	d := newSMTPDelivery("[127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test")
	d.Envelope.Body = "8BITMIME"
	wantSMTPStatus(t, smtpDeliver(t, tr, d)[0], Sent, "", "250")
	d = newSMTPDelivery("[127.0.0.1]:"+smtpItoa(no8.Port), smtpTestMessage, "a@yubin.test")
	d.Envelope.Body = "8BITMIME"
	wantSMTPStatus(t, smtpDeliver(t, tr, d)[0], Sent, "", "250")
	if m := sink.WaitMessages(t, 1, 5*time.Second); len(m) != 1 || !testutil.HasLine(m[0], "X-Mail-Args: <sender@example.jp> BODY=8BITMIME") {
		t.Errorf("BODY=8BITMIME not passed on: %q", m)
	}
	if m := no8.WaitMessages(t, 1, 5*time.Second); len(m) != 1 || !testutil.HasLine(m[0], "X-Mail-Args: <sender@example.jp>") {
		t.Errorf("BODY= sent to a server without 8BITMIME: %q", m)
	}

	d = newSMTPDelivery("[127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test", "ユーザー@yubin.test")
	for _, r := range smtpDeliver(t, tr, d) {
		wantSMTPStatus(t, r, Bounced, "5.6.7", "SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]:"+smtpItoa(sink.Port))
	}
	d = newSMTPDelivery("[127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test")
	d.Envelope.Body = "BINARYMIME"
	wantSMTPStatus(t, smtpDeliver(t, tr, d)[0], Bounced, "5.6.3", "BINARYMIME was not offered")
	if n := len(sink.Messages(t)); n != 1 {
		t.Errorf("%d messages at the sink, want 1", n)
	}
}

// TestSmtpSinkConcurrent: eight goroutines deliver five messages each
// through one transport to the real smtp-sink: every message arrives,
// and connections are reused (fewer than one per message).
func TestSmtpSinkConcurrent(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	p := newSMTPCountingProxy(t, sink.Addr)
	tr := &SMTPTransport{Hostname: "client.yubin.test"}
	defer tr.Close()
	nh := "[127.0.0.1]:" + smtpItoa(p.port())
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				rs := tr.Deliver(ctx, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test", "b@yubin.test"))
				cancel()
				for _, r := range rs {
					if r.Status != Sent {
						errs <- r.Text
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(sink.WaitMessages(t, 40, 10*time.Second)); n != 40 {
		t.Errorf("%d messages dumped, want 40", n)
	}
	if n := p.count(); n >= 40 || n < 1 {
		t.Errorf("%d connections for 40 messages", n)
	} else {
		t.Logf("%d connections for 40 messages", n)
	}
}

// TestSmtpSinkBadAddresses: a recipient that cannot be written in RCPT
// TO (angle brackets, a line break) bounces alone with 5.1.3 and the
// others go to the real smtp-sink; a sender that cannot be written
// bounces every recipient with 5.1.7.
func TestSmtpSinkBadAddresses(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	tr := &SMTPTransport{Hostname: "client.yubin.test"}
	defer tr.Close()
	nh := "[127.0.0.1]:" + smtpItoa(sink.Port)
	rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test", "b>x@yubin.test", "c@yubin.test\r\nRSET"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250")
	wantSMTPStatus(t, rs[1], Bounced, "5.1.3", "bad recipient address syntax")
	wantSMTPStatus(t, rs[2], Bounced, "5.1.3", "bad recipient address syntax")
	if m := sink.WaitMessages(t, 1, 5*time.Second); len(m) != 1 || strings.Count(m[0], "X-Rcpt-Args:") != 1 {
		t.Errorf("dump: %q", m)
	}
	d := newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test", "b@yubin.test")
	d.Envelope.From = "bad sender@example.jp"
	for _, r := range smtpDeliver(t, tr, d) {
		wantSMTPStatus(t, r, Bounced, "5.1.7", "bad sender address syntax")
	}
	d.Envelope.From = ""
	for _, r := range smtpDeliver(t, tr, d) {
		wantSMTPStatus(t, r, Sent, "", "250")
	}
}
