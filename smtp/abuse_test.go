package smtp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// The abuse suite: what an attacker from one address sends, over real
// sockets against a real Server, each probe bounded in seconds. Each
// asserts the refusal, that the memory the process holds stays bounded,
// and that the server still serves a well-behaved client afterwards.

// controlClient runs a whole polite session (from 127.0.0.2 when from2
// is set, so that per-client limits on 127.0.0.1 do not apply) and fails
// the test unless the server serves it.
func controlClient(t *testing.T, addr string, from2 bool) {
	t.Helper()
	d := net.Dialer{Timeout: 3 * time.Second}
	if from2 {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("control client: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	rc.expect("", "220 ")
	rc.expect("EHLO control.example", "250")
	rc.expect("MAIL FROM:<control@example.org>", "250 ")
	rc.expect("RCPT TO:<rcpt@example.jp>", "250 ")
	rc.expect("DATA", "354 ")
	rc.send("Subject: control\r\n\r\nstill served\r\n.\r\n")
	rc.expect("", "250 ")
	rc.expect("QUIT", "221 ")
}

// countingBackend drops every message and counts its bytes.
type countingBackend struct {
	mu    sync.Mutex
	msgs  int
	bytes int64
}

func (b *countingBackend) NewSession(context.Context, *ConnInfo) (Session, error) { return b, nil }

func (b *countingBackend) Data(_ context.Context, _ *Envelope, r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bytes += n
	if err == nil {
		b.msgs++
	}
	return err
}

// abuseServer starts a Server for the probes, the tarpit's sleep off
// (TestPostfixTarpit covers it) unless the probe sets it.
func abuseServer(t *testing.T, s *Server) string {
	t.Helper()
	if s.Backend == nil {
		s.Backend = &countingBackend{}
	}
	if s.ErrorSleep == 0 {
		s.ErrorSleep = -1
	}
	addr, _ := startServer(t, s, nil)
	return addr
}

// TestAbuseSMTPOverlongLines: 32 MB command lines are refused
// with "500 5.5.2 Error: line too long" without being held in memory,
// and a message of one 32 MB line is taken in as a stream.
func TestAbuseSMTPOverlongLines(t *testing.T) {
	be := &countingBackend{}
	addr := abuseServer(t, &Server{Backend: be, MaxMessageBytes: 64 << 20})
	done := testutil.MemCheck(t, 16)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	// 32 MB lines, written from one reused buffer so that only the
	// server could hold them.
	for range 3 {
		go testutil.StreamLine(c.c, "NOOP ", 32)
		c.expect("", "500 5.5.2 Error: line too long")
	}
	c.expect("EHLO x", "250")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	c.expect("RCPT TO:<b@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	go func() {
		testutil.StreamLine(c.c, "Subject: one line\r\n\r\n", 32)
		c.c.Write([]byte(".\r\n"))
	}()
	c.expect("", "250 ")
	c.expect("QUIT", "221 ")
	done()
	controlClient(t, addr, false)
	if be.msgs != 2 || be.bytes < 32<<20 {
		t.Errorf("%d messages, %d bytes", be.msgs, be.bytes)
	}
}

// TestAbuseSMTPControlBytes: NUL and bare CR in commands are refused as
// bad syntax; a command ended by a bare LF is taken, as Postfix takes
// it; NUL passes in message content and a bare CR there becomes a space
// (TestPostfixBareCR).
func TestAbuseSMTPControlBytes(t *testing.T) {
	k := &sink{}
	addr := abuseServer(t, &Server{Backend: DataFunc(k.Data), NoReceivedHeader: true})
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("NO\x00OP", "500 5.5.2 Error: bad syntax")
	c.expect("EHLO a\rb", "500 5.5.2 Error: bad syntax")
	c.send("EHLO lf.example\n")
	c.expect("", "250")
	c.expect("MAIL FROM:<a\x00b@example.org>", "500 5.5.2 Error: bad syntax")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	c.expect("RCPT TO:<b@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.send("Subject: x\r\n\r\nnul\x00here\r\ncr\r.\r\nlf\n.\nstill in\r\n.\r\n")
	c.expect("", "250 ")
	c.expect("QUIT", "221 ")
	msgs := k.list()
	if len(msgs) != 1 || string(msgs[0].data) != "Subject: x\r\n\r\nnul\x00here\r\ncr .\r\nlf\r\n\r\nstill in\r\n" {
		t.Fatalf("stored %d messages: %+v", len(msgs), msgs)
	}
	controlClient(t, addr, false)
}

// TestAbuseSMTPPipelinedFlood: a client that writes NOOPs as fast as it
// can without reading a reply is cut off, by default at once ("554 5.5.0
// Error: SMTP protocol synchronization", smtpd_forbid_unauth_pipelining)
// and with pipelining allowed by the junk command and hard error limits
// ("421 4.7.0 ... Error: too many errors"); the server never buffers
// what the client sends.
func TestAbuseSMTPPipelinedFlood(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow bool
		want  string
	}{{"default", false, "554 5.5.0 Error: SMTP protocol synchronization"}, {"allowed", true, "421 4.7.0 mail.example.jp Error: too many errors"}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := abuseServer(t, &Server{AllowUnauthPipelining: tc.allow})
			done := testutil.MemCheck(t, 32)
			c := dialRaw(t, addr)
			c.expect("", "220 ")
			flood := []byte(strings.Repeat("NOOP\r\n", 10000))
			go func() {
				for i := 0; i < 500; i++ { // 30 MB at most
					if _, err := c.c.Write(flood); err != nil {
						return
					}
				}
			}()
			var last string
			n := 0
			for {
				l, err := c.r.ReadString('\n')
				if err != nil {
					break
				}
				last = strings.TrimRight(l, "\r\n")
				n++
			}
			if last != tc.want {
				t.Fatalf("last reply %q after %d replies", last, n)
			}
			if tc.allow && n != 100+20+1+1 {
				// 101 NOOPs within smtpd_junk_command_limit, then one
				// error each up to smtpd_hard_error_limit, then 421.
				t.Errorf("%d replies", n)
			}
			done()
			controlClient(t, addr, false)
		})
	}
}

// TestAbuseSMTPEarlyTalker: a client that talks before the greeting
// (a spambot that does not wait) gets 554 instead of 220.
func TestAbuseSMTPEarlyTalker(t *testing.T) {
	be := gatedBackend{gate: make(chan struct{}), k: &sink{}}
	addr := abuseServer(t, &Server{Backend: be})
	c := dialRaw(t, addr)
	c.send("EHLO early.example\r\nMAIL FROM:<a@example.org>\r\n")
	be.gate <- struct{}{}
	c.expect("", "554 5.5.0 Error: SMTP protocol synchronization")
	if _, err := c.r.ReadByte(); err == nil {
		t.Fatal("session not ended")
	}
	go func() { be.gate <- struct{}{} }()
	controlClient(t, addr, false)
}

// TestAbuseSMTPSlowloris: many connections from one address that
// dribble bytes are capped by smtpd_client_connection_count_limit (the
// 51st gets "421 4.7.0 ... too many connections"); one that sends
// nothing is dropped at the read timeout; another client is served all
// along.
func TestAbuseSMTPSlowloris(t *testing.T) {
	addr := abuseServer(t, &Server{ReadTimeout: 700 * time.Millisecond})
	done := testutil.MemCheck(t, 32)
	var conns []*rawConn
	for range 50 {
		c := dialRaw(t, addr)
		c.expect("", "220 ")
		conns = append(conns, c)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range conns[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := c.c.Write([]byte{"NOOP"[i%4]}); err != nil {
					return
				}
			}
		}()
	}
	extra := dialRaw(t, addr)
	extra.expect("", "421 4.7.0 mail.example.jp Error: too many connections from 127.0.0.1")
	controlClient(t, addr, true)
	// The silent one is told it timed out.
	conns[0].expect("", "421 4.4.2 mail.example.jp Error: timeout exceeded")
	close(stop)
	wg.Wait()
	done()
}

// TestAbuseSMTPBDATEdges: BDAT with sizes at the edges: 0 (an empty
// chunk, fine), negative, not a number or more digits than any size has
// (501 and the session ends: the chunk cannot be skipped), and larger
// than message_size_limit (read and dropped, "552 5.3.4 Error: message
// file too big", nothing held in memory).
func TestAbuseSMTPBDATEdges(t *testing.T) {
	be := &countingBackend{}
	addr := abuseServer(t, &Server{Backend: be, MaxMessageBytes: 1 << 20})
	start := func() *rawConn {
		c := dialRaw(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO x", "250")
		c.expect("MAIL FROM:<a@example.org>", "250 ")
		c.expect("RCPT TO:<b@example.jp>", "250 ")
		return c
	}
	c := start()
	c.expect("BDAT 0", "250 2.0.0 Ok: 0 bytes")
	c.send("BDAT 5 LAST\r\nhello")
	c.expect("", "250 2.0.0 Ok: queued")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	c.expect("RCPT TO:<b@example.jp>", "250 ")
	c.expect("BDAT 0 LAST", "250 2.0.0 Ok: queued")
	for _, bad := range []string{"BDAT -1 LAST", "BDAT abc", "BDAT 1e9", "BDAT 99999999999999999999 LAST", "BDAT", "BDAT 1 LAST MORE"} {
		c := start()
		c.expect(bad, "501 5.5.4 Syntax: BDAT count [LAST]")
		if _, err := c.r.ReadByte(); err == nil {
			t.Errorf("%q: session not ended", bad)
		}
	}
	done := testutil.MemCheck(t, 32)
	c = start()
	size := 12 << 20
	go func() {
		c.c.Write([]byte("BDAT " + strconv.Itoa(size) + " LAST\r\n"))
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range size >> 20 {
			if _, err := c.c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c.expect("", "552 5.3.4 Error: message file too big")
	c.expect("QUIT", "221 ")
	done()
	controlClient(t, addr, false)
	if be.msgs != 3 { // "hello", the empty one, the control client's
		t.Errorf("%d messages", be.msgs)
	}
}

// mimeBomb is a message of n multipart parts nested in one another.
func mimeBomb(n int) string {
	var b strings.Builder
	b.WriteString("Subject: bomb\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nthe payload\r\n", n-1)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

// TestAbuseSMTPMIMEBomb: a message of 20,000 nested multipart parts
// through header_checks and body_checks is inspected in bounded time and
// memory, with Postfix 3.7's replies (restrict's TestPostfixMIMEChecks
// sends the same bombs to the real Postfix): the body_checks payload of
// the innermost part is found, because body_checks_size_limit counts per
// body part and the boundaries past mime_nesting_limit that start with a
// stacked boundary ("--b12...") are taken for it; without a payload the
// nesting past mime_nesting_limit refuses the message with
// "550 5.6.0 MIME nesting exceeds safety limit", as cleanup does when
// header checks are configured.
func TestAbuseSMTPMIMEBomb(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/body", []byte("/^the payload$/ REJECT payload found\n"), 0o644)
	os.WriteFile(dir+"/header", []byte("/^Subject: forbidden/ REJECT bad subject\n"), 0o644)
	p := restrict.DefaultParams()
	p["body_checks"] = "regexp:" + dir + "/body"
	p["header_checks"] = "regexp:" + dir + "/header"
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	be := &countingBackend{}
	addr := abuseServer(t, &Server{Backend: be, Policy: pol})
	bomb := mimeBomb(20000)
	done := testutil.MemCheck(t, 64)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250")
	start := time.Now()
	for _, tc := range []struct{ msg, want string }{
		{bomb, "550 5.7.1 payload found"},
		{strings.Replace(bomb, "the payload", "no payload", 1), "550 5.6.0 MIME nesting exceeds safety limit"},
		{strings.Replace(bomb, "Subject: bomb", "Subject: forbidden", 1), "550 5.7.1 bad subject"},
		{mimeBomb(5), "550 5.7.1 payload found"},
		{strings.Replace(mimeBomb(5), "the payload", "no payload", 1), "250 "},
	} {
		c.expect("MAIL FROM:<a@example.org>", "250 ")
		c.expect("RCPT TO:<b@example.jp>", "250 ")
		c.expect("DATA", "354 ")
		go c.c.Write([]byte(tc.msg + ".\r\n"))
		c.expect("", tc.want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("five bombs took %v", d)
	}
	c.expect("QUIT", "221 ")
	done()
	controlClient(t, addr, false)
}

// TestAbuseSMTPManyRecipients: 5,000 RCPTs in one transaction: the
// first smtpd_recipient_limit are taken, the rest get "452 4.5.3 Error:
// too many recipients" and, past smtpd_recipient_overshoot_limit, count
// as errors until the session is closed; memory stays bounded.
func TestAbuseSMTPManyRecipients(t *testing.T) {
	addr := abuseServer(t, &Server{AllowUnauthPipelining: true})
	done := testutil.MemCheck(t, 32)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	var script strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&script, "RCPT TO:<r%d@example.jp>\r\n", i)
	}
	go c.c.Write([]byte(script.String()))
	counts := map[string]int{}
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			break
		}
		counts[l[:3]]++
	}
	// 1000 taken, 1000 overshoot, 20 errors (the 20th followed by 421).
	if counts["250"] != 1000 || counts["452"] != 1020 || counts["421"] != 1 {
		t.Errorf("replies %v", counts)
	}
	done()
	controlClient(t, addr, false)
}
