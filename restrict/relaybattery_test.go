package restrict_test

import (
	"context"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// batteryPolicy is the Policy of the relay battery's main.cf (plus
// extra lines) for a host whose mynetworks is given.
func batteryPolicy(t testing.TB, mynetworks, extra string) *restrict.Policy {
	t.Helper()
	params, err := restrict.ParseMainCF(strings.NewReader(batteryMainCF + extra + "mynetworks = " + mynetworks + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := restrict.New(params)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRelayBattery asks restrict.Policy alone (Check at RCPT, then
// Resolve) about every open-relay trick of testutil.RelayCases, for a
// client outside mynetworks, the same client authenticated, and one
// inside mynetworks, with fullserver's relay restrictions. The verdicts
// and routes are Postfix 3.7's (TestPostfixRelayBattery checks the table
// against the real Postfix). Nothing a stranger sends may be accepted
// unless it resolves to a local address, and what a trusted client
// sends must go where Postfix would send it.
func TestRelayBattery(t *testing.T) {
	t.Parallel()
	out := batteryPolicy(t, "127.0.0.2/32", "")
	in := batteryPolicy(t, "127.0.0.0/8", "")
	for _, c := range testutil.RelayCases(batteryDomain) {
		for k, p := range map[clientKind]*restrict.Policy{outside: out, authed: out, inside: in} {
			v := policyVerdict(t, p, k, c)
			want := c.Trusted
			if k == outside {
				want = c.Outside
			}
			nonASCII := strings.ContainsFunc(c.Addr, func(r rune) bool { return r >= 0x80 })
			if got := v.class(); got != want && !(nonASCII && got == 2 && k != outside) {
				// (Without SMTPUTF8 the SMTP server refuses a non-ASCII
				// address before the Policy sees it.)
				t.Errorf("%s: <%s> from %s: %q, want class %d", c.Trick, c.Addr, kindNames[k], v.reply, want)
			}
			// (A bare "postmaster" is always accepted, RFC 5321 4.5.1.)
			if k == outside && v.class() == 2 && v.route != "" && !strings.HasPrefix(v.route, "lcl ") && c.Addr != "postmaster" {
				t.Errorf("RELAY: %s: <%s> accepted from outside and routed %q", c.Trick, c.Addr, v.route)
			}
			if v.route == "" || c.Class == "" {
				continue
			}
			tr, _, rcpt := splitRoute(v.route)
			if tr != classTransport[c.Class] || !strings.EqualFold(rcpt, "<"+c.Rcpt+">") {
				t.Errorf("%s: <%s> from %s: routed %q, want %s <%s>", c.Trick, c.Addr, kindNames[k], v.route, classTransport[c.Class], c.Rcpt)
			}
		}
	}
}

// TestRelaySwitches checks the address-rewriting switches with verdicts
// taken from Postfix 3.7 (TestPostfixRelayBatteryFlipped and
// TestPostfixRelayBatteryRelayDomains compare them all with the real
// Postfix): with allow_percent_hack, swap_bangpath and
// resolve_dequoted_address off, routing operators in a local address are
// part of a local user's name; resolve_null_domain makes "user@" local
// to $myorigin; relay_domains matches subdomains; routed addresses in a
// relay domain need allow_untrusted_routing.
func TestRelaySwitches(t *testing.T) {
	t.Parallel()
	flipped := batteryPolicy(t, "127.0.0.2/32", batteryFlipped)
	relay := batteryPolicy(t, "127.0.0.2/32", "relay_domains = relayed.example\n")
	cases := []struct {
		p     *restrict.Policy
		addr  string
		reply string // from outside, unauthenticated
		route string // where Resolve sends it
	}{
		{flipped, "user%other.example@ourdomain.example", "250 2.1.5 Ok", "lcl  <user%other.example@ourdomain.example>"},
		{flipped, "other.example!user@ourdomain.example", "250 2.1.5 Ok", "lcl  <other.example!user@ourdomain.example>"},
		{flipped, `"user@other.example"@ourdomain.example`, "250 2.1.5 Ok", `lcl  <"user@other.example"@ourdomain.example>`},
		{flipped, "user@other.example@ourdomain.example", "250 2.1.5 Ok", `lcl  <"user@other.example"@ourdomain.example>`},
		{flipped, "other.example!user", "554 5.7.1 <other.example!user>: Relay access denied", "dflt mx.ourdomain.example <other.example!user@mx.ourdomain.example>"},
		{flipped, "user@", "554 5.7.1 <user@>: Relay access denied", "dflt mx.ourdomain.example <user@mx.ourdomain.example>"},
		{flipped, "user%other.example@relayed.example", "250 2.1.5 Ok", "rly relayed.example <user%other.example@relayed.example>"},
		{relay, "user@sub.relayed.example", "250 2.1.5 Ok", "rly sub.relayed.example <user@sub.relayed.example>"},
		{relay, "user%other.example@relayed.example", "554 5.7.1 <user%other.example@relayed.example>: Relay access denied", "rly relayed.example <user%other.example@relayed.example>"},
		{relay, "user@", "501 5.1.3 Bad recipient address syntax", ""},
		{relay, "user@192.0.2.1", "501 5.1.3 Bad recipient address syntax", ""},
	}
	for _, c := range cases {
		d, err := c.p.Check(context.Background(), restrict.StageRecipient, &restrict.Request{
			Helo: testutil.RelayHelo, Sender: testutil.RelaySender, Recipient: c.addr})
		if err != nil {
			t.Fatal(err)
		}
		got := "250 2.1.5 Ok"
		if d.Refused() {
			got = d.String()
		}
		route := yubinRoute(c.p, c.addr)
		if c.route == "" && strings.HasPrefix(route, "error: ") {
			route = ""
		}
		if got != c.reply || route != c.route {
			t.Errorf("<%s>: %q routed %q, want %q routed %q", c.addr, got, route, c.reply, c.route)
		}
	}
}

// FuzzRelayNeverOpen sends arbitrary recipients from a client outside
// mynetworks to the battery's policies (fullserver's, the flipped
// switches, relay_domains set): whatever the Policy accepts must resolve
// to this host or to a relay domain, never to another destination (a
// bare "postmaster" excepted, which RFC 5321 makes every host accept).
// The seeds are the battery's tricks.
func FuzzRelayNeverOpen(f *testing.F) {
	for _, c := range testutil.RelayCases(batteryDomain) {
		f.Add(c.Addr)
	}
	policies := map[string]*restrict.Policy{}
	for _, extra := range []string{"", batteryFlipped, "relay_domains = relayed.example\n"} {
		policies[extra] = batteryPolicy(f, "127.0.0.2/32", extra)
	}
	f.Fuzz(func(t *testing.T, rcpt string) {
		for extra, p := range policies {
			d, err := p.Check(context.Background(), restrict.StageRecipient, &restrict.Request{
				Helo: testutil.RelayHelo, Sender: testutil.RelaySender, Recipient: rcpt})
			if err != nil || d.Refused() || strings.EqualFold(rcpt, "postmaster") {
				continue
			}
			dest, err := p.Resolve(context.Background(), rcpt)
			if err != nil {
				t.Fatalf("%q accepted from outside but not resolvable: %v", rcpt, err)
			}
			for _, tg := range dest.Targets {
				if tg.Class != restrict.ClassLocal && tg.Class != restrict.ClassRelay {
					t.Fatalf("RELAY with %q: %q accepted from outside, delivered to %+v", extra, rcpt, tg)
				}
			}
		}
	})
}
