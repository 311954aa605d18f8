package smtp

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// actionPolicy is a restrict.Policy for example.jp whose recipient and
// header checks give HOLD, REDIRECT, FILTER and PREPEND results.
func actionPolicy(t *testing.T, extra map[string]string) *restrict.Policy {
	t.Helper()
	dir := t.TempDir()
	access := filepath.Join(dir, "rcpt_access")
	if err := os.WriteFile(access, []byte(`hold@example.jp HOLD spam suspect
redirect@example.jp REDIRECT abuse@example.jp
filter@example.jp FILTER smtp:[127.0.0.1]:10025
prepend@example.jp PREPEND X-Access: tagged
`), 0o644); err != nil {
		t.Fatal(err)
	}
	hc := filepath.Join(dir, "header_checks")
	if err := os.WriteFile(hc, []byte("/^Subject: hold me/ HOLD held by header\n/^Subject: filter me/ FILTER lmtp:unix:/run/filter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["local_recipient_maps"] = ""
	p["smtpd_recipient_restrictions"] = "check_recipient_access texthash:" + access + ", reject_unauth_destination"
	p["header_checks"] = "regexp:" + hc
	for k, v := range extra {
		p[k] = v
	}
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// TestSMTPActionsReachSession checks that HOLD, REDIRECT and FILTER from
// an access table and from header_checks reach the Session in
// Envelope.Actions, that PREPEND from the access table is added above
// the Received header, and that nothing carries over to the next
// transaction.
func TestSMTPActionsReachSession(t *testing.T) {
	k := &sink{}
	addr, logs := startServer(t, &Server{Policy: actionPolicy(t, nil), Backend: DataFunc(k.Data)}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.example.org", "250-")
	tx := func(rcpt, subject string) {
		t.Helper()
		c.expect("MAIL FROM:<a@example.org>", "250 ")
		c.expect("RCPT TO:<"+rcpt+">", "250 ")
		c.expect("DATA", "354 ")
		c.send("Subject: " + subject + "\r\n\r\nbody\r\n.\r\n")
		c.expect("", "250 ")
	}
	tx("hold@example.jp", "x")
	tx("redirect@example.jp", "x")
	tx("filter@example.jp", "x")
	tx("prepend@example.jp", "x")
	tx("plain@example.jp", "hold me")
	tx("plain@example.jp", "filter me")
	tx("plain@example.jp", "x")
	msgs := k.list()
	if len(msgs) != 7 {
		t.Fatalf("%d messages", len(msgs))
	}
	want := []Actions{
		{Hold: true},
		{Redirect: "abuse@example.jp"},
		{Filter: "smtp:[127.0.0.1]:10025"},
		{},
		{Hold: true},
		{Filter: "lmtp:unix:/run/filter"},
		{},
	}
	for i, m := range msgs {
		if m.env.Actions != want[i] {
			t.Errorf("message %d: actions %+v, want %+v", i, m.env.Actions, want[i])
		}
	}
	if got := string(msgs[3].data); !strings.HasPrefix(got, "X-Access: tagged\r\nReceived: from client.example.org") {
		t.Errorf("PREPEND not above Received:\n%s", got)
	}
	if strings.Contains(string(msgs[4].data), "X-Access") {
		t.Error("PREPEND carried over to the next transaction")
	}
	for _, l := range []string{": hold: RCPT from unknown[127.0.0.1]: <hold@example.jp>: Recipient address spam suspect;", ": redirect: RCPT from", ": hold: header Subject: hold me: held by header from"} {
		if !strings.Contains(logs.String(), l) {
			t.Errorf("log lacks %q:\n%s", l, logs)
		}
	}
}

// TestSMTPHeloOptional checks Postfix's default (smtpd_helo_required =
// no: MAIL without HELO is accepted, the Received header names the
// client) and that the Policy's smtpd_helo_required = yes and
// smtpd_delay_reject = no take effect without the Server fields.
func TestSMTPHeloOptional(t *testing.T) {
	k := &sink{}
	addr, _ := startServer(t, &Server{Policy: actionPolicy(t, nil), Backend: DataFunc(k.Data)}, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("MAIL FROM:<a@example.org>", "250 2.1.0 Ok")
	c.expect("RCPT TO:<b@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
	c.expect("", "250 ")
	if m := k.list(); len(m) != 1 || !strings.HasPrefix(string(m[0].data), "Received: from unknown (unknown [127.0.0.1])") {
		t.Fatalf("message without HELO: %d messages %v", len(m), m)
	}

	pol := actionPolicy(t, map[string]string{
		"smtpd_helo_required":       "yes",
		"smtpd_delay_reject":        "no",
		"smtpd_sender_restrictions": "check_sender_access inline:{ {bad@example.org=REJECT go away} }",
	})
	addr, _ = startServer(t, &Server{Policy: pol, Backend: DataFunc(k.Data)}, nil)
	c = dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("MAIL FROM:<a@example.org>", "503 5.5.1 Error: send HELO/EHLO first")
	c.expect("HELO client.example.org", "250 ")
	// smtpd_delay_reject = no: the sender is refused at MAIL.
	c.expect("MAIL FROM:<bad@example.org>", "554 5.7.1 <bad@example.org>: Sender address rejected: go away")
}

// TestPostfixAccessPrepend relays a message through the real Postfix 3.7
// with a check_recipient_access PREPEND into yubin, and sends the same
// to yubin's server with the same table: the PREPEND line sits at the
// same place relative to the Received header in both, and Postfix, like
// yubin by default, accepts MAIL without HELO.
func TestPostfixAccessPrepend(t *testing.T) {
	access := filepath.Join(t.TempDir(), "access")
	if err := os.WriteFile(access, []byte("b@example.jp PREPEND X-Access: tagged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	msg := "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: s\r\nMessage-ID: <1@example.jp>\r\nDate: Wed, 2 Dec 2026 03:00:00 +0000\r\n\r\nbody\r\n"
	relayed := &sink{}
	taddr, _ := startServer(t, &Server{Backend: DataFunc(relayed.Data), NoReceivedHeader: true}, nil)
	_, tport, _ := net.SplitHostPort(taddr)
	p := testutil.StartSMTPPostfix(t, fmt.Sprintf("relayhost = [127.0.0.1]:%s\nsmtpd_recipient_restrictions = check_recipient_access texthash:%s, permit_mynetworks, reject\n", tport, access))

	// MAIL without HELO, to both.
	helo := func(addr string) string {
		c := dialRaw(t, addr)
		defer c.c.Close()
		c.expect("", "220 ")
		return c.expect("MAIL FROM:<a@example.jp>", "")
	}
	pr := helo(p.Addr())
	own := &sink{}
	oaddr, _ := startServer(t, &Server{Backend: DataFunc(own.Data), Policy: actionPolicyFrom(t, access)}, nil)
	if yr := helo(oaddr); pr[:3] != yr[:3] {
		t.Errorf("MAIL without HELO: Postfix %q, yubin %q", pr, yr)
	}

	send(t, p.Addr(), msg)
	p.WaitLog(t, "status=sent (250 2.0.0 Ok: queued as", 20*time.Second)
	send(t, oaddr, msg)
	pm, om := relayed.list(), own.list()
	if len(pm) != 1 || len(om) != 1 {
		t.Fatalf("%d relayed by Postfix, %d taken by yubin\n%s", len(pm), len(om), p.Log())
	}
	first := func(m string) string { // the field names of the header, in order, up to the first Received
		var names []string
		for _, l := range strings.Split(m, "\r\n") {
			if l == "" {
				break
			}
			if l[0] == ' ' || l[0] == '\t' {
				continue
			}
			name, _, _ := strings.Cut(l, ":")
			names = append(names, name)
			if name == "Received" {
				break
			}
		}
		return strings.Join(names, ",")
	}
	if want, got := first(string(pm[0].data)), first(string(om[0].data)); got != want || want != "X-Access,Received" {
		t.Fatalf("header before Received: yubin %q, Postfix %q\nPostfix:\n%s", got, want, pm[0].data)
	}
}

// actionPolicyFrom is a Policy for example.jp whose recipient restrictions
// are Postfix's in TestPostfixAccessPrepend.
func actionPolicyFrom(t *testing.T, access string) *restrict.Policy {
	t.Helper()
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["local_recipient_maps"] = ""
	p["mynetworks"] = "127.0.0.0/8"
	p["smtpd_recipient_restrictions"] = "check_recipient_access texthash:" + access + ", permit_mynetworks, reject"
	pol, err := restrict.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}
