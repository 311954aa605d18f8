package restrict

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// smtpProbe drives one SMTP session against a real server and returns
// the reply to each RCPT (or the refused reply before them).
// startPostfixAndPolicy starts a private Postfix smtpd from mainCF and
// builds yubin's Policy from the same main.cf (without DNS), so a test
// can ask both the same questions.
func startPostfixAndPolicy(t *testing.T, mainCF string) (addr string, p *Policy) {
	t.Helper()
	addr = testutil.StartPostfix(t, mainCF)
	params, err := ParseMainCF(strings.NewReader(mainCF))
	if err != nil {
		t.Fatal(err)
	}
	params["inet_interfaces"] = "127.0.0.1"
	p, err = New(params, WithResolver(noDNS{}))
	if err != nil {
		t.Fatal(err)
	}
	return addr, p
}

// rcptProbe is one SMTP transaction sent to a real Postfix and evaluated
// by yubin: HELO, MAIL FROM and the RCPT TO addresses in order.
type rcptProbe struct {
	helo, sender string
	rcpts        []string
}

// compareRCPTWithPostfix sends each probe to the Postfix smtpd at addr
// and checks that every RCPT reply is the one p's Check gives for the
// same request (250 2.1.5 Ok when yubin does not refuse).
func compareRCPTWithPostfix(t *testing.T, addr string, p *Policy, probes []rcptProbe) {
	t.Helper()
	n := 0
	for _, pr := range probes {
		got := smtpProbe(t, addr, pr.helo, pr.sender, pr.rcpts)
		for i, rcpt := range pr.rcpts {
			d, err := p.Check(context.Background(), StageRecipient, &Request{
				ClientAddr: netip.MustParseAddr("127.0.0.1"), ClientName: "unknown",
				Helo: pr.helo, Sender: pr.sender, Recipient: rcpt, RecipientCount: i,
			})
			if err != nil {
				t.Fatalf("%+v: %v", pr, err)
			}
			want := "250 2.1.5 Ok"
			if d.Refused() {
				want = d.String()
			}
			if got[i] != want {
				t.Errorf("HELO %s / MAIL <%s> / RCPT <%s>: Postfix %q, yubin %q", pr.helo, pr.sender, rcpt, got[i], want)
			}
			n++
		}
	}
	t.Logf("%d RCPT decisions compared with Postfix", n)
}

func smtpProbe(t *testing.T, addr, helo, sender string, rcpts []string) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	reply := func() string {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return "(connection closed)"
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
	defer send("QUIT")
	reply()
	fill := func(r string) []string {
		out := make([]string, len(rcpts))
		for i := range out {
			out[i] = r
		}
		return out
	}
	if r := send("HELO " + helo); !strings.HasPrefix(r, "250") {
		return fill(r)
	}
	if r := send("MAIL FROM:<" + sender + ">"); !strings.HasPrefix(r, "250") {
		return fill(r)
	}
	var out []string
	for _, rcpt := range rcpts {
		out = append(out, send("RCPT TO:<"+rcpt+">"))
	}
	return out
}

// TestPostfixAccessDecisions compares HELO syntax checks, non-FQDN
// checks, access tables (OK, REJECT with and without text, 4xx/5xx codes,
// DUNNO, restriction classes), unknown local and virtual recipients and
// relay refusal with a real Postfix smtpd using the same main.cf and
// tables.
func TestPostfixAccessDecisions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Postfix's smtpd runs as the postfix user and reads the tables.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	writeFile(t, dir, "sender_access", `friend@example.org from_friends
stranger@example.org strict
bad.example 550 5.7.0 go away
tempfail.example 450 try later
reject.example REJECT
rejtext.example REJECT no thanks
dunno.example DUNNO
ok.example OK
postmaster@ DUNNO
`)
	writeFile(t, dir, "rcpt_access", "blocked@example.jp REJECT mailbox closed\nsales@example.jp 421 4.2.1 busy\n")
	writeFile(t, dir, "local_users", "alice x\nbob x\n")
	writeFile(t, dir, "virtual", "info@virtual.example alice@example.jp\n")
	mainCF := strings.ReplaceAll(`myhostname = mx.example.jp
mydomain = example.jp
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
mynetworks = 10.99.0.0/16
recipient_delimiter = +
smtpd_restriction_classes = from_friends, strict
from_friends = permit
strict = reject_non_fqdn_sender, reject
smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
smtpd_sender_restrictions = reject_non_fqdn_sender, check_sender_access texthash:DIR/sender_access
smtpd_recipient_restrictions = reject_non_fqdn_recipient, check_recipient_access texthash:DIR/rcpt_access, reject_unauth_destination
local_recipient_maps = texthash:DIR/local_users
virtual_alias_domains = virtual.example
virtual_alias_maps = texthash:DIR/virtual
smtpd_hard_error_limit = 1000
smtpd_soft_error_limit = 1000
smtpd_error_sleep_time = 0
`, "DIR", dir)
	addr, p := startPostfixAndPolicy(t, mainCF)
	var probes []rcptProbe
	for _, h := range []string{"bad_helo!", "localhost", "[127.0.0.1]", "[999.1.1.1]", "host.example.", "-x.example"} {
		probes = append(probes, rcptProbe{h, "a@example.org", []string{"alice@example.jp"}})
	}
	for _, s := range []string{"friend@example.org", "stranger@example.org", "x@bad.example", "x@sub.bad.example",
		"x@tempfail.example", "x@reject.example", "x@rejtext.example", "x@dunno.example", "x@ok.example",
		"postmaster@anything.example", "user", "user@localhost", ""} {
		probes = append(probes, rcptProbe{"tester.example.org", s, []string{"alice@example.jp", "someone@elsewhere.example"}})
	}
	// sales@ answers 421, which ends the session: keep it last.
	probes = append(probes, rcptProbe{"tester.example.org", "a@example.org", []string{"alice@example.jp", "alice+tag@example.jp",
		"carol@example.jp", "blocked@example.jp", "info@virtual.example", "nobody@virtual.example",
		"someone@elsewhere.example", "alice@localhost", "postmaster", "bob@mx.example.jp", "Alice@Example.JP", "sales@example.jp"}})
	compareRCPTWithPostfix(t, addr, p, probes)
}
