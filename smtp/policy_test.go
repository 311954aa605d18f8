package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// relayPolicy accepts recipients in example.jp only (a stand-in for
// "reject_unauth_destination" with mydestination = example.jp), refuses
// the sender spam@bad.example at MAIL, discards mail from discard@x.org
// and refuses messages over 100 bytes at the end of data.
func relayPolicy(stages *[]restrict.Stage, mu *sync.Mutex) Policy {
	return PolicyFunc(func(ctx context.Context, st restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
		mu.Lock()
		*stages = append(*stages, st)
		mu.Unlock()
		switch st {
		case StageSender:
			if req.Sender == "spam@bad.example" {
				return restrict.Decision{Action: restrict.Reject, Code: 554, Enhanced: "5.7.1", Text: "<spam@bad.example>: Sender address rejected: Access denied"}, nil
			}
			if req.Sender == "discard@x.org" {
				return restrict.Decision{Action: restrict.Discard}, nil
			}
			if req.Sender == "broken@x.org" {
				return restrict.Decision{}, errors.New("table unavailable")
			}
		case StageRecipient:
			if !strings.HasSuffix(req.Recipient, "@example.jp") {
				return restrict.Decision{Action: restrict.Reject, Code: 554, Enhanced: "5.7.1", Text: "<" + req.Recipient + ">: Relay access denied"}, nil
			}
		case StageEndOfData:
			if req.Size > 400 {
				return restrict.Decision{Action: restrict.Reject, Code: 552, Enhanced: "5.3.4", Text: "Message too large for policy"}, nil
			}
		}
		return restrict.Decision{Action: restrict.Dunno}, nil
	})
}

func TestSMTPPolicy(t *testing.T) {
	var stages []restrict.Stage
	var mu sync.Mutex
	k := &sink{}
	addr, logs := startServer(t, &Server{Backend: DataFunc(k.Data), Policy: relayPolicy(&stages, &mu)}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.example.org", "250-")
	// smtpd_delay_reject: the sender refusal comes at RCPT.
	c.expect("MAIL FROM:<spam@bad.example>", "250 ")
	c.expect("RCPT TO:<user@example.jp>", "554 5.7.1 <spam@bad.example>: Sender address rejected: Access denied")
	c.expect("RSET", "250 ")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<victim@elsewhere.example>", "554 5.7.1 <victim@elsewhere.example>: Relay access denied")
	c.expect("RCPT TO:<user@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.send(strings.Repeat("x", 500) + "\r\n.\r\n")
	c.expect("", "552 5.3.4 Message too large for policy")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<user@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.send("small\r\n.\r\n")
	c.expect("", "250 2.0.0 Ok")
	c.expect("MAIL FROM:<discard@x.org>", "250 ")
	c.expect("RCPT TO:<user@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.send("dropped\r\n.\r\n")
	c.expect("", "250 2.0.0 Ok")
	c.expect("MAIL FROM:<broken@x.org>", "250 ")
	c.expect("RCPT TO:<user@example.jp>", "451 4.3.5 Server configuration error")
	c.expect("QUIT", "221 ")
	msgs := k.list()
	if len(msgs) != 1 || !strings.HasSuffix(string(msgs[0].data), "\r\nsmall\r\n") {
		t.Fatalf("delivered %+v", msgs)
	}
	logs.waitLog(t, "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <victim@elsewhere.example>: Relay access denied; from=<a@x.org> to=<victim@elsewhere.example> proto=ESMTP helo=<client.example.org>")
	mu.Lock()
	defer mu.Unlock()
	seen := map[restrict.Stage]bool{}
	for _, s := range stages {
		seen[s] = true
	}
	for _, s := range []restrict.Stage{StageConnect, StageHelo, StageSender, StageRecipient, StageData, StageEndOfData} {
		if !seen[s] {
			t.Errorf("stage %v never checked", s)
		}
	}
}

func TestSMTPPolicyNoDelayReject(t *testing.T) {
	var stages []restrict.Stage
	var mu sync.Mutex
	addr, _ := startServer(t, &Server{Backend: DataFunc((&sink{}).Data), Policy: relayPolicy(&stages, &mu), NoDelayReject: true}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.expect("MAIL FROM:<spam@bad.example>", "554 5.7.1 <spam@bad.example>: Sender address rejected")
}

// TestRestrictPolicySeed001 plugs a real *restrict.Policy built from seed
// 001's port 25 rules into the server: local mail accepted, relaying
// refused for a client outside mynetworks.
func TestRestrictPolicySeed001(t *testing.T) {
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.zeke.ne.jp"
	p["mydomain"] = "zeke.ne.jp"
	p["mydestination"] = "$myhostname, localhost.$mydomain, localhost, $mydomain"
	p["mynetworks"] = "192.168.1.0/24"
	p["smtpd_recipient_restrictions"] = "permit_mynetworks, reject_unauth_destination"
	p["local_recipient_maps"] = ""
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{}
	addr, logs := startServer(t, NewMTA("mail.zeke.ne.jp", nil, pol, DataFunc(k.Data)), nil)
	c := dialRaw(t, addr)
	c.expect("", "220 mail.zeke.ne.jp ESMTP")
	c.expect("EHLO client.example.org", "250-")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	// The code is restrict's (554 in Postfix; restrict answered 454 4.7.1
	// at the time of writing), the text must be Postfix's.
	if got := c.expect("RCPT TO:<victim@elsewhere.example>", ""); !strings.HasSuffix(got, "<victim@elsewhere.example>: Relay access denied") || got[0] != '4' && got[0] != '5' {
		t.Fatalf("relay attempt: %q", got)
	}
	c.expect("RCPT TO:<user@zeke.ne.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.send("Subject: local\r\n\r\nhi\r\n.\r\n")
	c.expect("", "250 2.0.0 Ok")
	if n := len(k.list()); n != 1 {
		t.Fatalf("%d delivered", n)
	}
	logs.waitLog(t, "<victim@elsewhere.example>: Relay access denied; from=<a@example.org> to=<victim@elsewhere.example> proto=ESMTP helo=<client.example.org>")
}

// failingTable is a lookup table whose every lookup fails, like an LDAP
// server that is down.
type failingTable struct{}

func (failingTable) Lookup(context.Context, string) (string, bool, error) {
	return "", false, errors.New("ldap: server down")
}

// TestSMTPPolicyErrorKeepsDecision: when Check fails but returns a
// decision with a code, that decision is sent (Postfix answers a failed
// table lookup with "451 4.3.0 <x>: Temporary lookup failure", not with a
// configuration error), and the Go error text stays out of the reply.
func TestSMTPPolicyErrorKeepsDecision(t *testing.T) {
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["local_recipient_maps"] = ""
	p["smtpd_recipient_restrictions"] = "check_recipient_access ldap:/etc/postfix/rcpt.cf, reject_unauth_destination"
	pol, err := restrict.New(p, restrict.WithTable("ldap:/etc/postfix/rcpt.cf", failingTable{}))
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	var mu sync.Mutex
	wrapped := PolicyFunc(func(ctx context.Context, st restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
		if st == StageSender && req.Sender == "rejected@x.org" {
			// A refusal that comes with an error (a policy service
			// answering despite a partial failure).
			return restrict.Decision{Action: restrict.Reject, Code: 554, Enhanced: "5.7.1", Text: "<rejected@x.org>: Sender address rejected: Access denied"}, errors.New("partial failure")
		}
		if st == StageSender && req.Sender == "nocode@x.org" {
			return restrict.Decision{Action: restrict.Dunno}, errors.New("config broken")
		}
		mu.Lock()
		calls = append(calls, req.Recipient)
		mu.Unlock()
		return pol.Check(ctx, st, req)
	})
	addr, logs := startServer(t, &Server{Backend: DataFunc((&sink{}).Data), Policy: wrapped}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.example.org", "250-")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	got := c.expect("RCPT TO:<user@example.jp>", "451 4.3.0 ")
	if !strings.Contains(got, "<user@example.jp>: Temporary lookup failure") || strings.Contains(got, "ldap") {
		t.Fatalf("table failure reply: %q", got)
	}
	c.expect("RSET", "250 ")
	c.expect("MAIL FROM:<rejected@x.org>", "250 ")
	c.expect("RCPT TO:<user@example.jp>", "554 5.7.1 <rejected@x.org>: Sender address rejected: Access denied")
	c.expect("RSET", "250 ")
	c.expect("MAIL FROM:<nocode@x.org>", "250 ")
	c.expect("RCPT TO:<user@example.jp>", "451 4.3.5 Server configuration error")
	c.expect("QUIT", "221 ")
	logs.waitLog(t, "warning: restriction check failed: ")
	mu.Lock()
	defer mu.Unlock()
	if len(calls) == 0 {
		t.Fatal("restrict.Policy never asked")
	}
}

// TestSMTPImproperPipelining: a client that sends the message before the
// 354 is logged as Postfix logs it and refused by a real restrict.Policy
// with smtpd_data_restrictions = reject_unauth_pipelining; with
// the default (ForbidUnauthPipelining) the session is ended at once.
func TestSMTPImproperPipelining(t *testing.T) {
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["local_recipient_maps"] = ""
	p["smtpd_data_restrictions"] = "reject_unauth_pipelining"
	p["smtpd_forbid_unauth_pipelining"] = "no" // the default is yes since Postfix 3.9
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	k := &sink{}
	addr, logs := startServer(t, &Server{Backend: DataFunc(k.Data), Policy: pol}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.example.org", "250-")
	// A well-behaved pipelined group first.
	c.send("MAIL FROM:<a@x.org>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n")
	c.expect("", "250 ")
	c.expect("", "250 ")
	c.expect("", "354 ")
	c.send("Subject: ok\r\n\r\n.\r\n")
	c.expect("", "250 2.0.0 Ok")
	c.send("MAIL FROM:<a@x.org>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\nSubject: early\r\n\r\n.\r\n")
	c.expect("", "250 ")
	c.expect("", "250 ")
	if got := c.reply(); !strings.Contains(got, " 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining") {
		t.Fatalf("early data: %q", got)
	}
	logs.waitLog(t, `improper command pipelining after DATA from unknown[127.0.0.1]: Subject: early\\r\\n\\r\\n.\\r\\n"`)
	if n := len(k.list()); n != 1 {
		t.Fatalf("%d delivered", n)
	}

	addr, logs = startServer(t, &Server{Backend: DataFunc(k.Data)}, nil)
	c = dialRaw(t, addr)
	c.expect("", "220 ")
	c.send("EHLO client.example.org\r\nMAIL FROM:<a@x.org>\r\n")
	c.expect("", "554 5.5.0 Error: SMTP protocol synchronization")
	if _, err := c.r.ReadByte(); err == nil {
		t.Fatal("session not ended")
	}
	logs.waitLog(t, `improper command pipelining after EHLO from unknown[127.0.0.1]: MAIL FROM:<a@x.org>\\r\\n"`)
}

// TestSMTPRateLimits plugs restrict's anvil Limiter, configured from
// seed 001-like parameters with tiny limits, into the server: connection
// count, message and recipient rates, AUTH and new TLS sessions.
func TestSMTPRateLimits(t *testing.T) {
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["smtpd_client_connection_count_limit"] = "2"
	p["smtpd_client_message_rate_limit"] = "1"
	p["smtpd_client_recipient_rate_limit"] = "2"
	p["smtpd_client_auth_rate_limit"] = "1"
	p["smtpd_client_new_tls_session_rate_limit"] = "1"
	p["smtpd_client_event_limit_exceptions"] = "" // 127.0.0.1 is limited too
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	f := testutil.NewTLS(t)
	s := NewSubmission("mail.example.jp", f.ServerConfig(), interopAuth(t), nil, DataFunc((&sink{}).Data))
	s.TLSRequired, s.TLSAuthOnly, s.AuthRequired = false, false, false
	s.Limiter = pol.NewLimiter()
	addr, logs := startServer(t, s, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<b1@y.org>", "250 ")
	c.expect("RCPT TO:<b2@y.org>", "250 ")
	c.expect("RCPT TO:<b3@y.org>", "450 4.7.1 Error: too many recipients from 127.0.0.1")
	c.expect("RSET", "250 ")
	c.expect("MAIL FROM:<a@x.org>", "450 4.7.1 Error: too much mail from 127.0.0.1")
	c.expect("AUTH PLAIN "+b64("\x00alice\x00wrong"), "535 ")
	c.expect("AUTH PLAIN "+b64("\x00alice\x00secret"), "450 4.7.1 Error: too many AUTH commands from 127.0.0.1")
	c2 := dialRaw(t, addr)
	c2.expect("", "220 ")
	c3 := dialRaw(t, addr)
	c3.expect("", "421 4.7.0 mail.example.jp Error: too many connections from 127.0.0.1")
	logs.waitLog(t, "warning: Connection rate or count limit exceeded: unknown[127.0.0.1]")
	c2.expect("EHLO x", "250-")
	c2.expect("STARTTLS", "220 ")
	tc := tls.Client(c2.c, f.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.Close()
	c.expect("STARTTLS", "421 4.7.0 mail.example.jp Error: too many new TLS sessions from 127.0.0.1")
	logs.waitLog(t, "warning: Message delivery request rate limit exceeded from unknown[127.0.0.1]")
}

// TestSubmissionSenderLoginMismatch: seed 001's submission listener with
// a real restrict.Policy using reject_sender_login_mismatch: an
// authenticated user may send only as the addresses it owns, and relays
// for them.
func TestSubmissionSenderLoginMismatch(t *testing.T) {
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["mynetworks"] = "192.0.2.0/24"
	p["local_recipient_maps"] = ""
	p["smtpd_sender_login_maps"] = "inline:{ alice@example.jp=alice }"
	p["smtpd_sender_restrictions"] = "reject_sender_login_mismatch"
	p["smtpd_recipient_restrictions"] = "permit_sasl_authenticated, reject"
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	f := testutil.NewTLS(t)
	k := &sink{}
	addr, _ := startServer(t, NewSubmission("mail.example.jp", f.ServerConfig(), interopAuth(t), pol, DataFunc(k.Data)), nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO x", "250-")
	c.expect("STARTTLS", "220 ")
	tc := tls.Client(c.c, f.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	c.expect("EHLO x", "250-")
	c.expect("AUTH PLAIN "+b64("\x00alice\x00secret"), "235 ")
	c.expect("MAIL FROM:<bob@example.jp>", "250 ")
	if got := c.expect("RCPT TO:<someone@elsewhere.example>", "553 5.7.1 "); !strings.Contains(got, "<bob@example.jp>: Sender address rejected: not owned by user alice") {
		t.Fatalf("mismatch: %q", got)
	}
	c.expect("RSET", "250 ")
	c.expect("MAIL FROM:<alice@example.jp>", "250 ")
	c.expect("RCPT TO:<someone@elsewhere.example>", "250 ")
	c.expect("DATA", "354 ")
	c.send("Subject: relayed\r\n\r\nhi\r\n.\r\n")
	c.expect("", "250 2.0.0 Ok")
	c.expect("QUIT", "221 ")
	if msgs := k.list(); len(msgs) != 1 || msgs[0].env.Conn.AuthUser != "alice" {
		t.Fatalf("delivered %+v", msgs)
	}
}

// TestSMTPRejectLoggedOnce: a refused RCPT is logged once, as Postfix's
// smtpd logs it ("NOQUEUE: reject: RCPT from ..."), when the
// restrict.Policy logs to the same logger as the server.
func TestSMTPRejectLoggedOnce(t *testing.T) {
	logs := &logBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["local_recipient_maps"] = ""
	p["mynetworks"] = "192.0.2.0/24"
	p["smtpd_relay_restrictions"] = "permit_mynetworks, reject_unauth_destination"
	pol, err := restrict.New(p, restrict.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := startServer(t, &Server{Policy: pol, Logger: log, Backend: DataFunc((&sink{}).Data)}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.example.org", "250-")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<victim@elsewhere.example>", "554 5.7.1 <victim@elsewhere.example>: Relay access denied")
	c.expect("QUIT", "221 ")
	logs.waitLog(t, "disconnect from")
	if n := strings.Count(logs.String(), "reject: RCPT from"); n != 1 {
		t.Fatalf("%d reject lines:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <victim@elsewhere.example>: Relay access denied;") {
		t.Fatalf("log:\n%s", logs)
	}
}
