package restrict

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestPostfixRelayDecisions sends the relay tricks (and local addresses)
// to a real Postfix smtpd configured like seed 004 and compares each RCPT
// reply with the Decision for the same request.
func TestPostfixRelayDecisions(t *testing.T) {
	t.Parallel()
	mainCF := `myhostname = www.miloweb.net
mydomain = miloweb.net
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
mynetworks = 10.99.0.0/16
smtpd_relay_restrictions =
smtpd_recipient_restrictions = permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination
local_recipient_maps =
smtpd_hard_error_limit = 1000
smtpd_soft_error_limit = 1000
smtpd_error_sleep_time = 0
`
	addr, p := startPostfixAndPolicy(t, mainCF)
	var rcpts []string
	for _, r := range relayTricks {
		if strings.IndexFunc(r, func(c rune) bool { return c < 0x20 || c >= 0x7f }) >= 0 {
			continue // not sendable as an SMTP line; covered by TestRelayTricksRefused
		}
		rcpts = append(rcpts, strings.ReplaceAll(r, "203.0.113.1", "127.0.0.1"))
	}
	rcpts = append(rcpts, "user@www.miloweb.net", "user@[127.0.0.1]", "User@MILOWEB.NET.", "user%localhost@www.miloweb.net",
		"user", "www.miloweb.net!user", `"quoted user"@www.miloweb.net`, "user@localhost.miloweb.net", "user@sub.miloweb.net")

	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	reply := func() string {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			line = strings.TrimRight(line, "\r\n")
			if len(line) < 4 || line[3] != '-' {
				return line
			}
		}
	}
	send := func(cmd string) string {
		fmt.Fprintf(conn, "%s\r\n", cmd)
		return reply()
	}
	reply()
	send("EHLO tester.example.org")
	if r := send("MAIL FROM:<spammer@example.org>"); !strings.HasPrefix(r, "250") {
		t.Fatalf("MAIL: %s", r)
	}
	for _, rcpt := range rcpts {
		got := send("RCPT TO:<" + rcpt + ">")
		d, err := p.Check(context.Background(), StageRecipient, &Request{
			ClientAddr: netip.MustParseAddr("127.0.0.1"), ClientName: "unknown",
			Helo: "tester.example.org", Sender: "spammer@example.org", Recipient: rcpt,
		})
		if err != nil {
			t.Fatalf("%q: %v", rcpt, err)
		}
		want := "250 2.1.5 Ok"
		if d.Refused() {
			want = d.String()
		}
		if got != want {
			t.Errorf("RCPT TO:<%s>: Postfix %q, yubin %q", rcpt, got, want)
		}
	}
	send("QUIT")
}
