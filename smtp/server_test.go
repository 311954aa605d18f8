package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSeed001Port25 replays the exchange of seed 001 against the port 25
// policy: the EHLO list, AUTH refused, and the maillog lines.
func TestSeed001Port25(t *testing.T) {
	f := testutil.NewTLS(t)
	s := NewMTA("mail.zeke.ne.jp", f.ServerConfig(), nil, DataFunc((&sink{}).Data))
	s.MaxMessageBytes = 10485760
	addr, logs := startServer(t, s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 mail.zeke.ne.jp ESMTP")
	c.expect("EHLO", "501 Syntax: EHLO hostname")
	got := c.expect("EHLO localhost", "250-mail.zeke.ne.jp")
	want := "250-mail.zeke.ne.jp\n250-PIPELINING\n250-SIZE 10485760\n250-STARTTLS\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n250-DSN\n250-SMTPUTF8\n250 CHUNKING"
	if got != want {
		t.Fatalf("EHLO reply:\n%s\nwant:\n%s", got, want)
	}
	c.expect("AUTH LOGIN", "503 5.5.1 Error: authentication not enabled")
	c.c.Close()
	logs.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=1/2 auth=0/1 commands=1/3")
	for _, l := range []string{"connect from unknown[127.0.0.1]", "lost connection after AUTH from unknown[127.0.0.1]"} {
		if !strings.Contains(logs.String(), l) {
			t.Errorf("log lacks %q:\n%s", l, logs)
		}
	}
}

func TestSMTPTransaction(t *testing.T) {
	k := &sink{}
	s := &Server{HeloRequired: true, Backend: BackendFunc(func(ctx context.Context, c *ConnInfo) (Session, error) { return k, nil })}
	addr, logs := startServer(t, s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("MAIL FROM:<a@example.org>", "503 5.5.1 Error: send HELO/EHLO first")
	c.expect("EHLO client.example.org", "250-")
	c.expect("RCPT TO:<b@example.jp>", "503 5.5.1 Error: need MAIL command")
	c.expect("DATA", "503 5.5.1 Error: need RCPT command")
	c.expect("MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME", "250 2.1.0 Ok")
	c.expect("MAIL FROM:<a@example.org>", "503 5.5.1 Error: nested MAIL command")
	c.expect("RCPT TO:<b@example.jp> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.jp", "250 2.1.5 Ok")
	c.expect("RCPT TO:<bad user@example.jp>", "501 5.1.3 Bad recipient address syntax")
	c.expect("RCPT TO:<c@example.jp> FOO=1", "555 5.5.4 Unsupported option: FOO=1")
	c.expect("RCPT TO:<ユーザー@example.jp>", "553 5.6.7")
	c.expect("DATA", "354 End data with <CR><LF>.<CR><LF>")
	c.send("Subject: hi\r\n\r\n..dot line\r\nbody\r\n.\r\n")
	rep := c.expect("", "250 2.0.0 Ok: queued as ")
	qid := strings.TrimPrefix(rep, "250 2.0.0 Ok: queued as ")
	c.expect("VRFY b", "502 5.5.1 VRFY command is disabled")
	c.expect("NOOP", "250 2.0.0 Ok")
	c.expect("RSET", "250 2.0.0 Ok")
	c.expect("FOO", "500 5.5.2 Error: command not recognized")
	c.expect("QUIT", "221 2.0.0 Bye")
	msgs := k.list()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered", len(msgs))
	}
	m := msgs[0]
	if m.env.From != "a@example.org" || len(m.env.To) != 1 || m.env.To[0].Addr != "b@example.jp" || m.env.To[0].Opts.Notify != "SUCCESS,FAILURE" {
		t.Fatalf("envelope %+v", m.env)
	}
	if m.env.MailOpts.Size != 100 || m.env.MailOpts.Body != "8BITMIME" || m.env.QueueID != qid {
		t.Fatalf("mail options %+v qid %q", m.env, qid)
	}
	body := string(m.data)
	if !strings.HasPrefix(body, "Received: from client.example.org (unknown [127.0.0.1])\r\n\tby mail.example.jp with ESMTP id "+qid+"\r\n\tfor <b@example.jp>; ") {
		t.Fatalf("received header: %q", body)
	}
	if !strings.HasSuffix(body, "\r\nSubject: hi\r\n\r\n.dot line\r\nbody\r\n") {
		t.Fatalf("body %q", body)
	}
	logs.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=1 mail=1/3 rcpt=1/5 data=1/2 rset=1 noop=1 vrfy=0/1 quit=1 unknown=0/1 commands=7/16")
	if !strings.Contains(logs.String(), qid+": client=unknown[127.0.0.1]") {
		t.Errorf("no client= line:\n%s", logs)
	}
}

// TestSMTPHandlerErrors checks that only the handler's success yields 250,
// a typed error goes out as is and a plain error as a generic 451.
func TestSMTPHandlerErrors(t *testing.T) {
	k := &sink{}
	addr, logs := startServer(t, &Server{Backend: DataFunc(k.Data)}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("HELO x", "250 mail.example.jp")
	send := func() string {
		c.expect("MAIL FROM:<>", "250 ")
		c.expect("RCPT TO:<postmaster>", "250 ")
		c.expect("DATA", "354 ")
		c.send("x\r\n.\r\n")
		return c.reply()
	}
	k.fail = &Error{Code: 552, Enhanced: Enhanced{5, 2, 2}, Message: "Mailbox full"}
	if got := send(); got != "552 5.2.2 Mailbox full" {
		t.Fatalf("typed error reply %q", got)
	}
	k.fail = errors.New("disk on fire at /var/secret")
	if got := send(); got != "451 4.3.0 Error: local error in processing" {
		t.Fatalf("plain error reply %q", got)
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Error("plain error not logged")
	}
	k.fail = nil
	if got := send(); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as") {
		t.Fatalf("success reply %q", got)
	}
	if n := len(k.list()); n != 1 {
		t.Fatalf("%d delivered", n)
	}
}

func TestSMTPPipelining(t *testing.T) {
	k := &sink{}
	addr, _ := startServer(t, &Server{Backend: DataFunc(k.Data)}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.send("MAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\nRCPT TO:<c@y.org>\r\nDATA\r\n")
	for _, want := range []string{"250 2.1.0", "250 2.1.5", "250 2.1.5", "354 "} {
		c.expect("", want)
	}
	c.send("hello\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<d@y.org>\r\nBDAT 5 LAST\r\nhelloQUIT\r\n")
	for _, want := range []string{"250 2.0.0 Ok: queued", "250 2.1.0", "250 2.1.5", "250 2.0.0 Ok: queued", "221 "} {
		c.expect("", want)
	}
	msgs := k.list()
	if len(msgs) != 2 || len(msgs[0].env.To) != 2 || !msgs[1].env.Chunked || !strings.HasSuffix(string(msgs[1].data), "\r\nhello") {
		t.Fatalf("delivered %+v", msgs)
	}
}

func TestSMTPBDAT(t *testing.T) {
	k := &sink{}
	s := &Server{Backend: DataFunc(k.Data), MaxMessageBytes: 2000, Ext: DefaultExtensions | ExtBinaryMIME}
	addr, _ := startServer(t, s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.send("BDAT 3\r\nabc") // no transaction: refused, chunk skipped
	c.expect("", "503 5.5.1 Error: need RCPT command")
	c.expect("MAIL FROM:<a@x.org> BODY=BINARYMIME", "250 ")
	c.expect("RCPT TO:<b@y.org>", "250 ")
	c.expect("DATA", "503 5.5.1 Error: BINARYMIME requires BDAT")
	c.send("BDAT 6\r\nline1\n")
	c.expect("", "250 2.0.0 Ok: 6 bytes")
	c.send("BDAT 0 LAST\r\n")
	c.expect("", "250 2.0.0 Ok: queued")
	if msgs := k.list(); len(msgs) != 1 || !strings.HasSuffix(string(msgs[0].data), "\r\nline1\n") {
		t.Fatalf("delivered %+v", msgs)
	}
	// Over the size limit: every chunk is read and dropped, 552 at LAST.
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<b@y.org>", "250 ")
	big := strings.Repeat("x", 1500)
	c.send("BDAT 1500\r\n" + big)
	c.expect("", "250 2.0.0 Ok: 1500 bytes")
	c.send("BDAT 1500 LAST\r\n" + big)
	c.expect("", "552 5.3.4 Error: message file too big")
	c.expect("NOOP", "250 ")
	if n := len(k.list()); n != 1 {
		t.Fatalf("%d delivered after over-size BDAT", n)
	}
}

// TestSMTPBDATWhole covers a message sent as one BDAT LAST chunk: it is
// delivered, an over-size one is refused without reaching the Session,
// and what a failing Session leaves unread is discarded.
func TestSMTPBDATWhole(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fail := false
	addr, _ := startServer(t, &Server{MaxMessageBytes: 1000, NoReceivedHeader: true,
		Backend: DataFunc(func(ctx context.Context, env *Envelope, r io.Reader) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				io.CopyN(io.Discard, r, 10)
				return &Error{Code: 452, Enhanced: Enhanced{4, 2, 2}, Message: "Mailbox full"}
			}
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			got = append(got, string(b))
			return nil
		})}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	msg := "Subject: one chunk\r\n\r\n" + strings.Repeat("body\r\n", 100)
	// Pipelined as RFC 3030 allows: MAIL, RCPT and the chunk in one write.
	c.send("MAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\nBDAT " + strconv.Itoa(len(msg)) + " LAST\r\n" + msg)
	c.expect("", "250 2.1.0")
	c.expect("", "250 2.1.5")
	c.expect("", "250 2.0.0 Ok: queued as ")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<b@y.org>", "250 ")
	c.send("BDAT 1001 LAST\r\n" + strings.Repeat("y", 1001))
	c.expect("", "552 5.3.4 Error: message file too big")
	mu.Lock()
	fail = true
	mu.Unlock()
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<b@y.org>", "250 ")
	c.send("BDAT " + strconv.Itoa(len(msg)) + " LAST\r\n" + msg)
	c.expect("", "452 4.2.2 Mailbox full")
	c.expect("NOOP", "250 ")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != msg {
		t.Fatalf("delivered %q", got)
	}
}

func TestSMTPBadInput(t *testing.T) {
	k := &sink{}
	s := &Server{Backend: DataFunc(k.Data), MaxMessageBytes: 1000}
	addr, _ := startServer(t, s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.expect("NOOP "+strings.Repeat("a", 1200), "500 5.5.2 Error: line too long")
	c.expect("NO\x00OP", "500 5.5.2 Error: bad syntax")
	c.expect("MAIL FROM:<a@x.org> SIZE=5000", "552 5.3.4 Message size exceeds fixed limit")
	c.expect("MAIL FROM:<ü@x.org>", "553 5.6.7")
	c.expect("MAIL FROM:<ü@x.org> SMTPUTF8", "250 ")
	c.expect("RCPT TO:<b@y.org>", "250 ")
	c.expect("DATA", "354 ")
	// Over-size data is read to the end and refused.
	c.send(strings.Repeat("0123456789012345678901234567890123456789\r\n", 200) + ".\r\n")
	c.expect("", "552 5.3.4 Error: message file too big")
	// Bare LF is normalised; LF.LF does not end the data (no smuggling).
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<b@y.org>", "250 ")
	c.expect("DATA", "354 ")
	c.send("a\n.\nMAIL FROM:<evil@x.org>\n\r\n.\r\n")
	c.expect("", "250 2.0.0 Ok")
	msgs := k.list()
	if len(msgs) != 1 || !strings.HasSuffix(string(msgs[0].data), "\r\na\r\n\r\nMAIL FROM:<evil@x.org>\r\n\r\n") {
		t.Fatalf("delivered %+v", msgs)
	}
}

func TestSMTPRejectBareLF(t *testing.T) {
	k := &sink{}
	addr, _ := startServer(t, &Server{Backend: DataFunc(k.Data), RejectBareLF: true}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("HELO x", "250 ")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<b@y.org>", "250 ")
	c.expect("DATA", "354 ")
	c.send("a\nb\r\n.\r\n")
	c.expect("", "550 5.5.2 Error: bare <LF> received")
	c.expect("NOOP", "250 ")
	if n := len(k.list()); n != 0 {
		t.Fatalf("%d delivered", n)
	}
}

// TestSMTPClientVanishesMidData: nothing is delivered, the session ends.
func TestSMTPClientVanishesMidData(t *testing.T) {
	for _, tc := range []struct{ bdat, chunks bool }{{false, false}, {true, false}, {false, true}} {
		bdat, chunks := tc.bdat, tc.chunks
		k := &sink{}
		addr, logs := startServer(t, &Server{Backend: DataFunc(k.Data)}, nil)
		c := dialRaw(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO x", "250-")
		c.expect("MAIL FROM:<a@x.org>", "250 ")
		c.expect("RCPT TO:<b@y.org>", "250 ")
		verb := "DATA"
		if bdat {
			verb = "BDAT"
			c.send("BDAT 100000 LAST\r\nSubject: partial\r\n")
		} else if chunks {
			verb = "BDAT"
			c.send("BDAT 19\r\nSubject: partial\r\n\r\n")
			c.expect("", "250 2.0.0 Ok: 19 bytes")
			c.send("BDAT 100000 LAST\r\nhalf a mess")
		} else {
			c.expect("DATA", "354 ")
			c.send("Subject: partial\r\n\r\nhalf a mess")
		}
		time.Sleep(50 * time.Millisecond)
		c.c.Close()
		logs.waitLog(t, "lost connection after "+verb+" from unknown[127.0.0.1]")
		logs.waitLog(t, "disconnect from")
		if n := len(k.list()); n != 0 {
			t.Fatalf("%s: %d delivered", verb, n)
		}
	}
}

func TestSMTPTimeout(t *testing.T) {
	addr, logs := startServer(t, &Server{ReadTimeout: 200 * time.Millisecond}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("", "421 4.4.2 mail.example.jp Error: timeout exceeded")
	logs.waitLog(t, "timeout after CONNECT from unknown[127.0.0.1]")
}

func TestSMTPTooManyErrors(t *testing.T) {
	addr, _ := startServer(t, &Server{MaxErrors: 3}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("X", "500 ")
	c.expect("X", "500 ")
	c.expect("X", "500 ")
	c.expect("", "421 4.7.0 mail.example.jp Error: too many errors")
}

func TestSMTPConnLimit(t *testing.T) {
	addr, _ := startServer(t, &Server{MaxConnsPerClient: 1}, nil)
	c1 := dialRaw(t, addr)
	c1.expect("", "220 ")
	c2 := dialRaw(t, addr)
	c2.expect("", "421 4.7.0 mail.example.jp Error: too many connections from 127.0.0.1")
}

func TestSMTPShutdown(t *testing.T) {
	k := &sink{}
	s := &Server{Backend: DataFunc(k.Data), Hostname: "mail.example.jp"}
	addr, _ := startServer(t, s, nil)
	idle := dialRaw(t, addr)
	idle.expect("", "220 ")
	busy := dialRaw(t, addr)
	busy.expect("", "220 ")
	busy.expect("HELO x", "250 ")
	busy.expect("MAIL FROM:<a@x.org>", "250 ")
	busy.expect("RCPT TO:<b@y.org>", "250 ")
	busy.expect("DATA", "354 ")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	idle.expect("", "421 4.3.2 Service shutting down")
	// The transaction in progress completes, then the session ends.
	busy.send("x\r\n.\r\n")
	busy.expect("", "250 2.0.0 Ok")
	busy.expect("NOOP", "421 4.3.2 Service shutting down")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(k.list()); n != 1 {
		t.Fatalf("%d delivered", n)
	}
}

func TestSMTPZeroServer(t *testing.T) {
	var s Server
	addr, _ := startServer(t, &s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.expect("STARTTLS", "502 5.5.1")
	c.expect("AUTH PLAIN", "503 5.5.1 Error: authentication not enabled")
	c.expect("MAIL FROM:<>", "250 ")
	c.expect("RCPT TO:<a@b.c>", "250 ")
	c.expect("DATA", "354 ")
	c.send(".\r\n")
	c.expect("", "451 4.3.0")
}

// TestSMTPStartTLSAuthRaw drives STARTTLS and AUTH with raw lines on the
// submission policy: TLS before AUTH and MAIL, pipelined plaintext after
// STARTTLS discarded, PLAIN with and without initial response, LOGIN,
// abort and failures.
func TestSMTPStartTLSAuthRaw(t *testing.T) {
	f := testutil.NewTLS(t)
	k := &sink{}
	s := NewSubmission("mail.example.jp", f.ServerConfig(), interopAuth(t), nil, DataFunc(k.Data))
	s.AllowUnauthPipelining = true // the injection below is to be dropped, not refused
	addr, logs := startServer(t, s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	ehlo := c.expect("EHLO x", "250-")
	if strings.Contains(ehlo, "AUTH") || !strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("EHLO before TLS: %q", ehlo)
	}
	c.expect("AUTH PLAIN "+b64("\x00alice\x00secret"), "503 5.5.1 Error: authentication not enabled")
	c.expect("MAIL FROM:<alice@example.jp>", "530 5.7.0 Must issue a STARTTLS command first")
	// A command pipelined after STARTTLS in plaintext must be dropped.
	c.send("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
	c.expect("", "220 2.0.0 Ready to start TLS")
	tc := tls.Client(c.c, f.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	c.expect("MAIL FROM:<a@example.jp>", "530 5.7.0 Authentication required")
	ehlo = c.expect("EHLO x", "250-")
	if !strings.Contains(ehlo, "AUTH PLAIN LOGIN") || strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("EHLO after TLS: %q", ehlo)
	}
	c.expect("STARTTLS", "554 5.5.1 Error: TLS already active")
	c.expect("MAIL FROM:<a@example.jp>", "530 5.7.0 Authentication required")
	c.expect("AUTH CRAM-MD5", "535 5.7.8 Error: authentication failed: Invalid authentication mechanism")
	c.expect("AUTH PLAIN "+b64("\x00alice\x00wrong"), "535 5.7.8 Error: authentication failed: authentication failure")
	c.expect("AUTH PLAIN !!!", "501 5.5.2")
	c.expect("AUTH LOGIN", "334 "+b64("Username:"))
	c.expect("*", "501 5.7.0 Authentication aborted")
	c.expect("AUTH PLAIN", "334 ")
	c.expect(b64("\x00alice\x00secret"), "235 2.7.0 Authentication successful")
	c.expect("AUTH PLAIN", "503 5.5.1 Error: already authenticated")
	c.expect("MAIL FROM:<alice@example.jp>", "250 ")
	c.expect("RCPT TO:<bob@example.org>", "250 ")
	c.expect("DATA", "354 ")
	c.send("Subject: x\r\n\r\nx\r\n.\r\n")
	c.expect("", "250 2.0.0 Ok")
	c.expect("QUIT", "221 ")
	msgs := k.list()
	if len(msgs) != 1 || msgs[0].env.From != "alice@example.jp" || msgs[0].env.Conn.AuthUser != "alice" {
		t.Fatalf("delivered %+v", msgs)
	}
	if !strings.Contains(string(msgs[0].data), "with ESMTPSA id ") {
		t.Fatalf("Received: %q", msgs[0].data)
	}
	// Logged once, as improper pipelining, and never executed.
	logs.waitLog(t, "improper command pipelining after STARTTLS from unknown[127.0.0.1]: MAIL FROM:<injected@example.org>")
	if strings.Count(logs.String(), "injected") != 1 {
		t.Fatalf("injected command was executed:\n%s", logs)
	}
	logs.waitLog(t, "sasl_method=PLAIN, sasl_username=alice")
}

// TestSMTPStrictRFC821Envelopes: by default, as Postfix's smtpd, MAIL
// and RCPT take addresses RFC 5321 would not ("user", "user@",
// "x@y@z") and leave them to the restrictions; StrictRFC821Envelopes
// refuses them as strict_rfc821_envelopes = yes does.
func TestSMTPStrictRFC821Envelopes(t *testing.T) {
	for _, strict := range []bool{false, true} {
		s := &Server{StrictRFC821Envelopes: strict, Backend: DataFunc((&sink{}).Data)}
		addr, _ := startServer(t, s, nil)
		c := dialRaw(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO client.example.org", "250-")
		mail, rcpt := "250 2.1.0", "250 2.1.5"
		if strict {
			mail, rcpt = "501 5.1.7 Bad sender address syntax", "501 5.1.3 Bad recipient address syntax"
		}
		c.expect("MAIL FROM:<a>", mail)
		if !strict {
			c.expect("RSET", "250 ")
		}
		c.expect("MAIL FROM:<a@example.org>", "250 ")
		for _, to := range []string{"<b>", "<bad@>", "<x@remote.example@example.jp>"} {
			c.expect("RCPT TO:"+to, rcpt)
		}
		// Neither takes what is not one address.
		c.expect("RCPT TO:<b c@example.jp>", "501 5.1.3")
		c.expect("RCPT TO:<\"b@example.jp>", "501 5.1.3")
		c.c.Close()
	}
}
