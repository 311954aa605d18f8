package queue

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests use small servers of their own for behaviour no real
// program offers: silence after accepting, garbage, endless replies,
// refusing for a while, dropping a connection while idle.

// smtpFakeServer runs handle for each connection accepted on 127.0.0.1.
func smtpFakeServer(t *testing.T, handle func(n int, c net.Conn, r *bufio.Reader)) (port int, conns *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int32{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := int(conns.Add(1))
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				handle(n, c, bufio.NewReader(c))
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, conns
}

// smtpScript answers a plain SMTP conversation; rcpt decides the reply
// to each RCPT TO; afterData runs after the message was taken.
func smtpScript(c net.Conn, r *bufio.Reader, rcpt func(line string) string, afterData func() bool) {
	io.WriteString(c, "220 fake ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			io.WriteString(c, "250-fake\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n")
		case strings.HasPrefix(cmd, "MAIL"), cmd == "RSET", cmd == "NOOP":
			io.WriteString(c, "250 2.0.0 Ok\r\n")
		case strings.HasPrefix(cmd, "RCPT"):
			io.WriteString(c, rcpt(line)+"\r\n")
		case cmd == "DATA":
			io.WriteString(c, "354 go ahead\r\n")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			io.WriteString(c, "250 2.0.0 Ok: queued as FAKE1\r\n")
			if afterData != nil && !afterData() {
				return
			}
		case cmd == "QUIT":
			io.WriteString(c, "221 2.0.0 Bye\r\n")
			return
		default:
			io.WriteString(c, "502 5.5.2 Error: command not recognized\r\n")
		}
	}
}

func smtpAcceptRcpt(string) string { return "250 2.1.5 Ok" }

// TestSMTPTransportSilentServer: a server that accepts the connection
// and never greets is deferred after HeloTimeout; one that takes DATA
// and then stops reading is deferred after DataXferTimeout.
func TestSMTPTransportSilentServer(t *testing.T) {
	t.Parallel()
	silent, _ := smtpFakeServer(t, func(_ int, c net.Conn, r *bufio.Reader) { io.Copy(io.Discard, r) })
	tr := &SMTPTransport{Hostname: "client.yubin.test", HeloTimeout: 500 * time.Millisecond, DataXferTimeout: 500 * time.Millisecond}
	start := time.Now()
	rs := smtpDeliver(t, tr, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(silent), smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.4.2", "timed out while receiving the initial server greeting")
	if took := time.Since(start); took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v with a 500ms helo timeout", took)
	}

	stuck, _ := smtpFakeServer(t, func(_ int, c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 fake\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(strings.ToUpper(line), "DATA") {
				io.WriteString(c, "354 go ahead\r\n")
				<-t.Context().Done() // read nothing more
				return
			}
			io.WriteString(c, "250 Ok\r\n")
		}
	})
	d := newSMTPDelivery("[127.0.0.1]:"+smtpItoa(stuck), "", "a@yubin.test")
	d.Size = 256 << 20
	d.Open = func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(smtpEndlessText{}, d.Size)), nil }
	start = time.Now()
	rs = smtpDeliver(t, tr, d)
	wantSMTPStatus(t, rs[0], Deferred, "4.4.2", "timed out while sending message body")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v with a 500ms data transfer timeout", took)
	}
}

// smtpEndlessText is lines of text for ever.
type smtpEndlessText struct{}

func (smtpEndlessText) Read(p []byte) (int, error) {
	const line = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"
	n := 0
	for n < len(p) {
		n += copy(p[n:], line)
	}
	return n, nil
}

// TestSMTPTransportGarbage: a greeting that is not SMTP, a reply line
// longer than any reply may be, and a reply that never ends (more than
// 100 continuation lines, sent for ever) are each a deferral, quickly,
// without unbounded memory.
func TestSMTPTransportGarbage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		serve func(c net.Conn)
		text  string
	}{
		{"not-smtp", func(c net.Conn) { io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n") }, "malformed reply while receiving the initial server greeting"},
		{"long-line", func(c net.Conn) {
			io.WriteString(c, "220 ")
			for i := 0; i < 1000; i++ {
				if _, err := io.WriteString(c, strings.Repeat("x", 1000)); err != nil {
					return
				}
			}
		}, "while receiving the initial server greeting"},
		{"endless", func(c net.Conn) {
			io.WriteString(c, "220 fake\r\n")
			bufio.NewReader(c).ReadString('\n')
			for {
				if _, err := io.WriteString(c, "250-more and more\r\n"); err != nil {
					return
				}
			}
		}, "while performing the EHLO handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port, _ := smtpFakeServer(t, func(_ int, c net.Conn, _ *bufio.Reader) { tc.serve(c) })
			tr := &SMTPTransport{Hostname: "client.yubin.test", HeloTimeout: 2 * time.Second}
			start := time.Now()
			rs := smtpDeliver(t, tr, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(port), smtpTestMessage, "a@yubin.test"))
			wantSMTPStatus(t, rs[0], Deferred, "", tc.text)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestSMTPTransportSoftThenAccept: a destination that answers 451 to
// RCPT for its first two connections and then accepts: the first two
// deliveries are deferred with the server's words, the third is sent.
func TestSMTPTransportSoftThenAccept(t *testing.T) {
	t.Parallel()
	port, _ := smtpFakeServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		smtpScript(c, r, func(string) string {
			if n <= 2 {
				return "451 4.3.0 Try again later"
			}
			return "250 2.1.5 Ok"
		}, nil)
	})
	tr := &SMTPTransport{Hostname: "client.yubin.test", DisableConnectionCache: true}
	nh := "[127.0.0.1]:" + smtpItoa(port)
	for i := 0; i < 2; i++ {
		rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
		wantSMTPStatus(t, rs[0], Deferred, "4.3.0", "said: 451 4.3.0 Try again later (in reply to RCPT TO command)")
	}
	rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250 2.0.0 Ok: queued as FAKE1")
}

// TestSMTPTransportDeadCachedConnection: the server drops the connection
// after the first message (without QUIT); the next delivery finds the
// cached connection dead at RSET and delivers on a fresh one.
func TestSMTPTransportDeadCachedConnection(t *testing.T) {
	t.Parallel()
	port, conns := smtpFakeServer(t, func(_ int, c net.Conn, r *bufio.Reader) {
		smtpScript(c, r, smtpAcceptRcpt, func() bool { return false })
	})
	tr := &SMTPTransport{Hostname: "client.yubin.test", ConnectionCacheTimeLimit: 5 * time.Second}
	defer tr.Close()
	nh := "[127.0.0.1]:" + smtpItoa(port)
	for i := 0; i < 2; i++ {
		rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
		wantSMTPStatus(t, rs[0], Sent, "2.0.0", "queued as FAKE1")
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the cached one was dead)", n)
	}
}

// TestSMTPTransportNextMXOnSoftError: with MX fallback, a recipient
// refused with 4xx by a server that is not the last one is tried on the
// next; a 5xx is final at once.
func TestSMTPTransportNextMXOnSoftError(t *testing.T) {
	t.Parallel()
	port, conns := smtpFakeServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		smtpScript(c, r, func(line string) string {
			switch {
			case strings.Contains(line, "hard@"):
				return "550 5.1.1 No such user"
			case strings.Contains(line, "soft@") && n == 1:
				return "450 4.2.0 Busy"
			}
			return "250 2.1.5 Ok"
		}, nil)
	})
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: startSMTPDNS(t), Port: smtpItoa(port), Protocols: "ipv4", DisableConnectionCache: true}
	// equal.yubin.test has four MX hosts, all on 127.0.0.1.
	rs := smtpDeliver(t, tr, newSMTPDelivery("equal.yubin.test", smtpTestMessage, "ok@equal.yubin.test", "soft@equal.yubin.test", "hard@equal.yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "", "queued as FAKE1")
	wantSMTPStatus(t, rs[1], Sent, "", "queued as FAKE1")
	wantSMTPStatus(t, rs[2], Bounced, "5.1.1", "550 5.1.1 No such user (in reply to RCPT TO command)")
	if n := conns.Load(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
}

// TestSMTPTransportTLSMayFallback: a server offers STARTTLS but the
// handshake fails (it answers the ClientHello with garbage); at level
// may the same server is tried again in plaintext, as Postfix does, and
// the mail goes; at level encrypt it is deferred.
func TestSMTPTransportTLSMayFallback(t *testing.T) {
	t.Parallel()
	port, conns := smtpFakeServer(t, func(_ int, c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 fake ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				io.WriteString(c, "250-fake\r\n250 STARTTLS\r\n")
			case cmd == "STARTTLS":
				io.WriteString(c, "220 2.0.0 Ready to start TLS\r\n")
				io.WriteString(c, "this is not TLS at all\r\n")
				return
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
				io.WriteString(c, "250 2.0.0 Ok\r\n")
			case cmd == "DATA":
				io.WriteString(c, "354 go ahead\r\n")
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == ".\r\n" {
						break
					}
				}
				io.WriteString(c, "250 2.0.0 Ok: queued as PLAIN1\r\n")
			case cmd == "QUIT":
				io.WriteString(c, "221 2.0.0 Bye\r\n")
				return
			}
		}
	})
	nh := "[127.0.0.1]:" + smtpItoa(port)
	may := &SMTPTransport{Hostname: "client.yubin.test", DisableConnectionCache: true}
	rs := smtpDeliver(t, may, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "queued as PLAIN1")
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (TLS, then plaintext)", n)
	}
	enc := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: TLSEncrypt}
	rs = smtpDeliver(t, enc, newSMTPDelivery(nh, smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.7.5", "Cannot start TLS: handshake failure")
}

// TestSMTPTransportMXLimits: equal.yubin.test has four MX hosts (all on
// 127.0.0.1 here). A server that greets with 421 is tried
// smtp_mx_session_limit times (2, then 3 when set); with
// smtp_mx_address_limit 1 only one address is tried. A 554 greeting from
// a server that is not the last one moves on to the next
// (smtp_skip_5xx_greeting), which takes the mail.
func TestSMTPTransportMXLimits(t *testing.T) {
	t.Parallel()
	res := startSMTPDNS(t)
	busy, busyConns := smtpFakeServer(t, func(_ int, c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "421 4.3.2 Service busy\r\n")
	})
	for _, tc := range []struct {
		sessions, addrs int
		want            int32
	}{{0, 0, 2}, {3, 0, 3}, {0, 1, 1}} {
		before := busyConns.Load()
		tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, Port: smtpItoa(busy), Protocols: "ipv4",
			MXSessionLimit: tc.sessions, MXAddressLimit: tc.addrs}
		rs := smtpDeliver(t, tr, newSMTPDelivery("equal.yubin.test", smtpTestMessage, "a@equal.yubin.test"))
		wantSMTPStatus(t, rs[0], Deferred, "4.3.2", "refused to talk to me: 421 4.3.2 Service busy")
		if n := busyConns.Load() - before; n != tc.want {
			t.Errorf("session limit %d, address limit %d: %d connections, want %d", tc.sessions, tc.addrs, n, tc.want)
		}
	}

	port, _ := smtpFakeServer(t, func(n int, c net.Conn, r *bufio.Reader) {
		if n == 1 {
			io.WriteString(c, "554 5.7.1 Go away\r\n")
			return
		}
		smtpScript(c, r, smtpAcceptRcpt, nil)
	})
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, Port: smtpItoa(port), Protocols: "ipv4", DisableConnectionCache: true}
	rs := smtpDeliver(t, tr, newSMTPDelivery("equal.yubin.test", smtpTestMessage, "a@equal.yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "queued as FAKE1")
	// The only server greets with 554: the mail bounces.
	away, _ := smtpFakeServer(t, func(_ int, c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "554 5.7.1 Go away\r\n")
	})
	rs = smtpDeliver(t, tr, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(away), smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Bounced, "5.7.1", "refused to talk to me: 554 5.7.1 Go away")
}
