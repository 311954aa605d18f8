package restrict

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// seed004Params is seed 004's relay policy (Postfix 2.1 era, SMTP AUTH
// with permit_sasl_authenticated) on a host whose own address is
// 203.0.113.1.
func seed004Params() Params {
	return Params{
		"myhostname":                   "www.miloweb.net",
		"mydomain":                     "miloweb.net",
		"mydestination":                "$myhostname, localhost.$mydomain, localhost, $mydomain",
		"inet_interfaces":              "203.0.113.1, 127.0.0.1",
		"mynetworks":                   "127.0.0.0/8",
		"smtpd_sasl_auth_enable":       "yes",
		"smtpd_recipient_restrictions": "permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination",
		"local_recipient_maps":         "",
	}
}

// relayTricks are the addresses of the classic open-relay test (the 17
// tests the seed's relay checker runs, and their variants); none may be
// accepted from an outside, unauthenticated client.
var relayTricks = []string{
	`relaytest@example.org`,
	`relaytest%example.org@[203.0.113.1]`,
	`relaytest%example.org@www.miloweb.net`,
	`relaytest%example.org@miloweb.net`,
	`"relaytest@example.org"`,
	`"relaytest%example.org"`,
	`relaytest@example.org@[203.0.113.1]`,
	`"relaytest@example.org"@[203.0.113.1]`,
	`relaytest@example.org@www.miloweb.net`,
	`"relaytest@example.org"@www.miloweb.net`,
	`@[203.0.113.1]:relaytest@example.org`,
	`@www.miloweb.net:relaytest@example.org`,
	`@www.miloweb.net,@localhost:relaytest@example.org`,
	`example.org!relaytest`,
	`example.org!relaytest@www.miloweb.net`,
	`example.org!relaytest@[203.0.113.1]`,
	`"example.org!relaytest"`,
	`"example.org!relaytest"@www.miloweb.net`,
	`relaytest%example.org`,
	`relaytest@[198.51.100.7]`,
	`relaytest@[IPv6:2001:db8::7]`,
	`relaytest@example.org.`,
	`RELAYTEST@EXAMPLE.ORG`,
	`relaytest%example.org%www.miloweb.net@www.miloweb.net`,
	`relaytest\@example.org@www.miloweb.net`,
	"relaytest@example.org\x00@www.miloweb.net",
	"relay\x00test@www.miloweb.net",
	"relaytest@www.miloweb.net\x00.example.org",
	"relaytest@exam\xffple.org",
	`example.org!relaytest%www.miloweb.net@www.miloweb.net`,
	`"relaytest%example.org"@[203.0.113.1]`,
	`relaytest@localhost@example.org`,
}

func TestRelayTricksRefused(t *testing.T) {
	for _, relay := range []string{"", "default"} {
		params := seed004Params()
		if relay == "" {
			params["smtpd_relay_restrictions"] = ""
		}
		p, err := New(params)
		if err != nil {
			t.Fatal(err)
		}
		for _, sender := range []string{"spammer@example.org", ""} {
			for _, rcpt := range relayTricks {
				req := rcptReq("198.51.100.99", "tester.example.org", sender, rcpt)
				d, err := p.Check(context.Background(), StageRecipient, req)
				if err != nil {
					t.Fatalf("%q: %v", rcpt, err)
				}
				if !d.Refused() {
					t.Errorf("relay_restrictions=%q sender=%q: relay trick %q accepted (%v)", relay, sender, rcpt, d)
				} else if !strings.Contains(d.Text, "Relay access denied") {
					t.Errorf("%q: refused with %q", rcpt, d)
				}
			}
		}
	}
}

// Local addresses (including the percent hack to a local domain) are not
// relaying and are accepted; an authenticated client may relay.
func TestRelayLocalAndAuthenticated(t *testing.T) {
	p, err := New(seed004Params())
	if err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"user@www.miloweb.net", "user@[203.0.113.1]", "User@MILOWEB.NET.", "user%localhost@www.miloweb.net", "user", "www.miloweb.net!user"} {
		d := mustCheck(t, p, StageRecipient, rcptReq("198.51.100.99", "tester.example.org", "a@example.org", rcpt))
		if d.Refused() {
			t.Errorf("local %q refused: %v", rcpt, d)
		}
	}
	req := rcptReq("198.51.100.99", "laptop", "me@miloweb.net", "friend@example.org")
	req.SASLUser = "me"
	if d := mustCheck(t, p, StageRecipient, req); d.Refused() {
		t.Errorf("authenticated relay refused: %v", d)
	}
}

func TestConfigErrors(t *testing.T) {
	base := func() Params {
		return Params{"smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination"}
	}
	cases := []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"smtpd_recipient_restrictions": "permit_mynetworks,\n reject_unauth_destinaton"},
			`smtpd_recipient_restrictions: element 2 "reject_unauth_destinaton": unknown restriction`},
		{map[string]string{"smtpd_sender_restrictions": "check_sender_access"},
			`smtpd_sender_restrictions: element 1 "check_sender_access": missing argument`},
		{map[string]string{"smtpd_sender_restrictions": "check_sender_access /etc/postfix/x"},
			`smtpd_sender_restrictions: element 2 "/etc/postfix/x": check_sender_access: need maptype:mapname`},
		{map[string]string{"smtpd_client_restrictions": "permit_mynetworks check_client_access hash:/nonexistent/access"},
			`smtpd_client_restrictions: element 3 "hash:/nonexistent/access"`},
		{map[string]string{"smtpd_client_restrictions": "check_client_access nosuchtype:/x"},
			`unsupported table type "nosuchtype"`},
		{map[string]string{"smtpd_client_restrictions": "reject_rbl_client zen.spamhaus.org=127.0.0.[2..300]"},
			`element 2 "zen.spamhaus.org=127.0.0.[2..300]": bad DNSBL reply filter`},
		{map[string]string{"smtpd_client_restrictions": "check_policy_service tcp:127.0.0.1:10023"},
			`element 2 "tcp:127.0.0.1:10023": policy service "tcp:127.0.0.1:10023": only inet: and unix: endpoints are supported`},
		{map[string]string{"smtpd_client_restrictions": "check_policy_service { inet:127.0.0.1:10023, bogus=1 }"},
			`unknown policy service attribute "bogus"`},
		{map[string]string{"smtpd_recipient_restrictions": "permit_mynetworks, permit_sasl_authenticated", "smtpd_relay_restrictions": ""},
			`specify at least one working instance of: reject_unauth_destination`},
		{map[string]string{"smtpd_recipient_restrictions": "permit, reject_unauth_destination", "smtpd_relay_restrictions": ""},
			`specify at least one working instance`},
		{map[string]string{"smtpd_restriction_classes": "from_friends"},
			"restriction class `from_friends' needs a definition"},
		{map[string]string{"relay_domains_reject_code": "55"}, `relay_domains_reject_code: need a 3-digit SMTP reply code`},
		{map[string]string{"mynetworks": "192.168.1.1/24"}, `mynetworks: element 1 "192.168.1.1/24": bad network/mask`},
		{map[string]string{"smtpd_client_restrictions": "check_client_access inline:{ a=b"}, `unbalanced '{'`},
		{map[string]string{"smtpd_delay_reject": "maybe"}, `smtpd_delay_reject: need yes or no`},
	}
	for _, c := range cases {
		params := base()
		for k, v := range c.set {
			params[k] = v
		}
		_, err := New(params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got error %v, want %q", c.set, err, c.want)
		}
		var ce *ConfigError
		if err != nil && !errors.As(err, &ce) {
			t.Errorf("%v: error %T is not a *ConfigError", c.set, err)
		}
	}
}

func TestRestrictionClasses(t *testing.T) {
	params := Params{
		"smtpd_restriction_classes":    "from_friends, strict",
		"from_friends":                 "permit",
		"strict":                       "reject_non_fqdn_sender, reject",
		"smtpd_sender_restrictions":    "check_sender_access inline:{ friend@example.org=from_friends, stranger@example.org=strict, { bad.example = 550 5.7.0 go away } }",
		"smtpd_recipient_restrictions": "reject_unauth_destination",
		"mydestination":                "example.jp",
		"local_recipient_maps":         "",
	}
	p, err := New(params)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sender, want string }{
		{"friend@example.org", "DUNNO"},
		{"stranger@example.org", "554 5.7.1 <stranger@example.org>: Sender address rejected: Access denied"},
		{"x@sub.bad.example", "550 5.7.0 <x@sub.bad.example>: Sender address rejected: go away"},
		{"other@example.org", "DUNNO"},
	} {
		d := mustCheck(t, p, StageRecipient, rcptReq("198.51.100.1", "mx.example.org", c.sender, "u@example.jp"))
		if d.String() != c.want {
			t.Errorf("%s: got %q want %q", c.sender, d, c.want)
		}
	}
}

func TestDelayRejectNo(t *testing.T) {
	params := Params{
		"smtpd_delay_reject":           "no",
		"smtpd_client_restrictions":    "check_client_access cidr:" + writeFile(t, t.TempDir(), "c.cidr", "192.0.2.0/24 REJECT blocked network\n"),
		"smtpd_helo_restrictions":      "reject_non_fqdn_helo_hostname",
		"smtpd_recipient_restrictions": "reject_unauth_destination",
	}
	p, err := New(params)
	if err != nil {
		t.Fatal(err)
	}
	req := rcptReq("192.0.2.5", "", "", "")
	if got := mustCheck(t, p, StageConnect, req).String(); got != "554 5.7.1 <unknown[192.0.2.5]>: Client host rejected: blocked network" {
		t.Errorf("connect: %s", got)
	}
	req = rcptReq("198.51.100.5", "localhost", "", "")
	if got := mustCheck(t, p, StageHelo, req).String(); got != "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname" {
		t.Errorf("helo: %s", got)
	}
	// With delay_reject (the default) the same client is refused only at RCPT.
	delete(params, "smtpd_delay_reject")
	p, _ = New(params)
	req = rcptReq("192.0.2.5", "mx.example.org", "a@example.org", "postmaster@localhost")
	if got := mustCheck(t, p, StageConnect, req); got.Refused() {
		t.Errorf("delayed connect refused early: %v", got)
	}
	if got := mustCheck(t, p, StageRecipient, req).String(); got != "554 5.7.1 <unknown[192.0.2.5]>: Client host rejected: blocked network" {
		t.Errorf("delayed rcpt: %s", got)
	}
}

func TestRejectCodesHonoured(t *testing.T) {
	params := seed004Params()
	params["relay_domains_reject_code"] = "550"
	params["smtpd_relay_restrictions"] = ""
	p, err := New(params)
	if err != nil {
		t.Fatal(err)
	}
	d := mustCheck(t, p, StageRecipient, rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "x@example.org"))
	if d.String() != "550 5.7.1 <x@example.org>: Relay access denied" {
		t.Errorf("got %v", d)
	}
	params["smtpd_recipient_restrictions"] = "reject_non_fqdn_recipient, reject_unauth_destination"
	params["non_fqdn_reject_code"] = "450"
	p, _ = New(params)
	d = mustCheck(t, p, StageRecipient, rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "user@localhost"))
	if d.String() != "450 4.5.2 <user@localhost>: Recipient address rejected: need fully-qualified address" || d.Action != Defer {
		t.Errorf("got %v (%v)", d, d.Action)
	}
}
