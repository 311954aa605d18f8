package restrict

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seed001Params is the main.cf of seed 001 (smtpd_recipient_restrictions
// as pasted from the guide).
const seed001MainCF = `myhostname = mail.zeke.ne.jp
mydomain = zeke.ne.jp
myorigin = $myhostname
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain,
 ace.zeke.ne.jp, cafe.zeke.ne.jp, myhome.zeke.ne.jp,
mynetworks = 192.168.1.0/24, 127.0.0.0/8
recipient_delimiter = +
smtpd_recipient_restrictions =
permit_mynetworks,
reject_invalid_helo_hostname,
reject_unknown_sender_domain,
reject_unauth_destination,
check_sender_access hash:SENDER_ACCESS,
reject_rbl_client bl.spamcop.net,
reject_rbl_client zen.spamhaus.org=127.0.0.[2..11],
reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99],
reject_rhsbl_helo dbl.spamhaus.org=127.0.1.[2..99],
reject_rhsbl_reverse_client dbl.spamhaus.org=127.0.1.[2..99],
warn_if_reject reject_rbl_client zen.spamhaus.org=127.255.255.[1..255]
message_size_limit = 10485760
mailbox_size_limit = 0
local_recipient_maps =
`

// mainCF parses main.cf text whose continuation lines may start at
// column 0 as in the seed (the guide lost the indentation): lines that
// do not contain '=' are joined to the previous parameter.
func mainCF(t testing.TB, text string, repl ...string) Params {
	t.Helper()
	var fixed []string
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.Contains(line, "=") || strings.HasPrefix(line, "reject_rbl_client") || strings.HasPrefix(line, "reject_rhsbl") || strings.HasPrefix(line, "warn_if_reject") {
			line = "  " + line
		}
		fixed = append(fixed, line)
	}
	text = strings.Join(fixed, "\n")
	for i := 0; i+1 < len(repl); i += 2 {
		text = strings.ReplaceAll(text, repl[i], repl[i+1])
	}
	p, err := ParseMainCF(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type seed001 struct {
	dns    *testDNS
	policy *Policy
}

func newSeed001(t testing.TB) *seed001 {
	t.Helper()
	dir := t.TempDir()
	access := filepath.Join(dir, "sender_access")
	// The guide's file has only comments; add the example lines it describes.
	if err := os.WriteFile(access, []byte("# SYNOPSIS\n# postmap /etc/postfix/sender_access\nexample.com OK\nexample.net REJECT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newTestDNS(t)
	d.addMX("zeke.ne.jp", "mail.zeke.ne.jp")
	d.addA("mail.zeke.ne.jp", "192.0.2.25")
	d.addMX("example.org", "mx.example.org")
	d.addA("example.com", "192.0.2.80")
	d.addA("example.net", "192.0.2.81")
	d.addA("spam.example", "192.0.2.99")
	d.addA("spam.example.dbl.spamhaus.org", "127.0.1.2")
	d.addA("ok.example", "192.0.2.98")
	d.addA("ok.example.dbl.spamhaus.org", "127.0.1.255") // outside the filter
	d.addA("66.2.0.192.bl.spamcop.net", "127.0.0.2")
	d.addTXT("66.2.0.192.bl.spamcop.net", "Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.66")
	d.addA("77.2.0.192.zen.spamhaus.org", "127.0.0.4")
	d.addA("78.2.0.192.zen.spamhaus.org", "127.0.0.20") // not in [2..11]
	d.addA("88.2.0.192.zen.spamhaus.org", "127.255.255.254")
	d.addA("badhelo.example", "192.0.2.97")
	d.addA("badhelo.example.dbl.spamhaus.org", "127.0.1.3")
	d.addA("badptr.example.dbl.spamhaus.org", "127.0.1.4")
	d.fail("tempfail.example")
	p, err := New(mainCF(t, seed001MainCF, "SENDER_ACCESS", access), WithResolver(d.resolver()))
	if err != nil {
		t.Fatal(err)
	}
	return &seed001{dns: d, policy: p}
}

func rcptReq(client, helo, sender, rcpt string) *Request {
	return &Request{ClientAddr: netip.MustParseAddr(client), ClientName: "unknown", Helo: helo, Sender: sender, Recipient: rcpt}
}

func TestSeed001RecipientRestrictions(t *testing.T) {
	s := newSeed001(t)
	cases := []struct {
		name string
		req  *Request
		want string // Decision.String()
	}{
		{"mynetworks may relay", rcptReq("192.168.1.5", "pc", "me@zeke.ne.jp", "anyone@elsewhere.example"), "PERMIT"},
		{"loopback may relay", rcptReq("127.0.0.1", "localhost", "", "anyone@elsewhere.example"), "PERMIT"},
		{"invalid helo", rcptReq("198.51.100.1", "bad_host!", "a@example.org", "user@zeke.ne.jp"),
			"501 5.5.2 <bad_host!>: Helo command rejected: Invalid name"},
		{"unknown sender domain", rcptReq("198.51.100.1", "mx.example.org", "a@nx.example", "user@zeke.ne.jp"),
			"450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found"},
		{"relay denied", rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "user@elsewhere.example"),
			// The default smtpd_relay_restrictions (defer_unauth_destination)
			// decide before the seed's recipient list, as in Postfix 3.7.
			"454 4.7.1 <user@elsewhere.example>: Relay access denied"},
		{"local recipient accepted", rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "user+tag@ace.zeke.ne.jp"), "DUNNO"},
		{"null sender accepted", rcptReq("198.51.100.1", "mx.example.org", "", "user@zeke.ne.jp"), "DUNNO"},
		{"sender_access REJECT", rcptReq("198.51.100.1", "mx.example.org", "x@example.net", "user@zeke.ne.jp"),
			"554 5.7.1 <x@example.net>: Sender address rejected: Access denied"},
		{"spamcop listed", rcptReq("192.0.2.66", "mx.example.org", "a@example.org", "user@zeke.ne.jp"),
			"554 5.7.1 Service unavailable; Client host [192.0.2.66] blocked using bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?192.0.2.66"},
		{"sender_access OK wins over DNSBL", rcptReq("192.0.2.66", "mx.example.org", "friend@example.com", "user@zeke.ne.jp"), "PERMIT"},
		{"zen listed in filter", rcptReq("192.0.2.77", "mx.example.org", "a@example.org", "user@zeke.ne.jp"),
			"554 5.7.1 Service unavailable; Client host [192.0.2.77] blocked using zen.spamhaus.org"},
		{"zen answer outside filter", rcptReq("192.0.2.78", "mx.example.org", "a@example.org", "user@zeke.ne.jp"), "DUNNO"},
		{"rhsbl sender", rcptReq("198.51.100.1", "mx.example.org", "x@spam.example", "user@zeke.ne.jp"),
			"554 5.7.1 Service unavailable; Sender address [x@spam.example] blocked using dbl.spamhaus.org"},
		{"rhsbl sender outside filter", rcptReq("198.51.100.1", "mx.example.org", "x@ok.example", "user@zeke.ne.jp"), "DUNNO"},
		{"rhsbl helo", rcptReq("198.51.100.1", "badhelo.example", "a@example.org", "user@zeke.ne.jp"),
			"554 5.7.1 Service unavailable; Helo command [badhelo.example] blocked using dbl.spamhaus.org"},
		{"temporary DNS failure defers", rcptReq("198.51.100.1", "mx.example.org", "a@tempfail.example", "user@zeke.ne.jp"),
			"450 4.1.8 <a@tempfail.example>: Sender address rejected: Domain not found"},
		{"postmaster always", rcptReq("192.0.2.66", "bad_host!", "a@nx.example", "postmaster"), "PERMIT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := s.policy.Check(context.Background(), StageRecipient, c.req)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := d.String(); got != c.want {
				t.Errorf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestSeed001ReverseClientRHSBL(t *testing.T) {
	s := newSeed001(t)
	req := rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "user@zeke.ne.jp")
	req.ReverseClientName = "host.badptr.example"
	d, _ := s.policy.Check(context.Background(), StageRecipient, req)
	// The PTR name itself is not listed, only badptr.example is: no match
	// (Postfix queries the whole name).
	if d.Refused() {
		t.Fatalf("got %v", d)
	}
	req.ReverseClientName = "badptr.example"
	d, _ = s.policy.Check(context.Background(), StageRecipient, req)
	want := "554 5.7.1 Service unavailable; Unverified Client host [badptr.example] blocked using dbl.spamhaus.org"
	if d.String() != want {
		t.Fatalf("got %q want %q", d, want)
	}
}

func TestSeed001WarnIfReject(t *testing.T) {
	s := newSeed001(t)
	d, err := s.policy.Check(context.Background(), StageRecipient, rcptReq("192.0.2.88", "mx.example.org", "a@example.org", "user@zeke.ne.jp"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Refused() {
		t.Fatalf("warn_if_reject must not refuse: %v", d)
	}
	if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "reject_warning: RCPT from unknown[192.0.2.88]: 554 5.7.1 Service unavailable; Client host [192.0.2.88] blocked using zen.spamhaus.org;") {
		t.Fatalf("warnings: %q", d.Warnings)
	}
}
