package restrict

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestPermitMXBackup follows smtpd_check.c's permit_mx_backup: permit
// when this host is a backup (not primary) MX by name or address,
// authorised destinations pass, MX lookup failures defer a later reject,
// permit_mx_backup_networks restricts the primary MX hosts.
func TestPermitMXBackup(t *testing.T) {
	d := newTestDNS(t)
	d.addMX("byname.example", "10 mx1.other.example")
	d.addMX("byname.example", "20 mx2.example.jp")
	d.addMX("byaddr.example", "10 mx1.other.example")
	d.addMX("byaddr.example", "20 backupbox.example")
	d.addA("backupbox.example", "192.0.2.2")
	d.addA("mx1.other.example", "198.51.100.5")
	d.addMX("primary.example", "10 mx2.example.jp")
	d.addMX("primary.example", "20 mx1.other.example")
	d.addMX("notme.example", "10 mx1.other.example")
	d.addMX("notme.example", "20 mx3.other.example")
	d.addA("mx3.other.example", "198.51.100.6")
	d.addA("nomx.example", "192.0.2.2")
	d.fail("tempfail.example")
	d.addMX("netok.example", "10 inside.example")
	d.addMX("netok.example", "20 mx2.example.jp")
	d.addA("inside.example", "192.0.2.50")
	d.addMX("netbad.example", "10 mx1.other.example")
	d.addMX("netbad.example", "20 mx2.example.jp")
	params := Params{
		"myhostname":                   "mx2.example.jp",
		"mydomain":                     "example.jp",
		"inet_interfaces":              "192.0.2.2",
		"relay_domains":                "relay.example",
		"smtpd_relay_restrictions":     "",
		"smtpd_recipient_restrictions": "permit_mx_backup, reject_unauth_destination",
		"local_recipient_maps":         "",
	}
	cases := []struct{ rcpt, want string }{
		{"u@byname.example", "PERMIT"},
		{"u@byaddr.example", "PERMIT"},
		{"u@primary.example", "554 5.7.1 <u@primary.example>: Relay access denied"},
		{"u@notme.example", "554 5.7.1 <u@notme.example>: Relay access denied"},
		{"u@nomx.example", "554 5.7.1 <u@nomx.example>: Relay access denied"},
		{"u@tempfail.example", "450 4.4.4 <u@tempfail.example>: Recipient address rejected: Unable to look up mail exchanger information"},
		{"u@mx2.example.jp", "PERMIT"},
		{"u@relay.example", "PERMIT"},
		{"u@[198.51.100.5]", "554 5.7.1 <u@[198.51.100.5]>: Relay access denied"},
		{"u%byname.example@other.example", "554 5.7.1 <u%byname.example@other.example>: Relay access denied"},
		{"u@netok.example", "PERMIT"},
		{"u@netbad.example", "PERMIT"},
	}
	run := func(p *Policy, rcpt, want string) {
		t.Helper()
		got := mustCheck(t, p, StageRecipient, rcptReq("203.0.113.7", "client.example.org", "a@example.org", rcpt)).String()
		if got != want {
			t.Errorf("RCPT %s: got %q want %q", rcpt, got, want)
		}
	}
	p, err := New(params, WithResolver(d.resolver()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		run(p, c.rcpt, c.want)
	}
	params["permit_mx_backup_networks"] = "192.0.2.0/24"
	p, err = New(params, WithResolver(d.resolver()))
	if err != nil {
		t.Fatal(err)
	}
	run(p, "u@netok.example", "PERMIT")
	run(p, "u@netbad.example", "554 5.7.1 <u@netbad.example>: Relay access denied")
	run(p, "u@byname.example", "554 5.7.1 <u@byname.example>: Relay access denied")
}

// TestDNSRestrictions covers the DNS-based checks not exercised by the
// seeds: reject_unknown_helo_hostname (and its old name, with
// unknown_hostname_reject_code), reject_unknown_recipient_domain (with
// unknown_address_reject_code), reject_rhsbl_client and
// reject_rhsbl_recipient, and unknown_address_tempfail_action.
func TestDNSRestrictions(t *testing.T) {
	d := newTestDNS(t)
	d.addA("host.example.org", "198.51.100.1")
	d.addMX("mxonly.example.org", "mx.example.org")
	d.fail("tempfail.example.org")
	d.addMX("dest.example", "mx.example.org")
	d.addA("listed.example", "192.0.2.9")
	d.addA("listed.example.rhsbl.example", "127.0.0.2")
	d.addTXT("listed.example.rhsbl.example", "see https://rhsbl.example/listed.example")
	base := func() Params {
		return Params{
			"myhostname":                   "mx.example.jp",
			"mydestination":                "example.jp",
			"smtpd_relay_restrictions":     "",
			"local_recipient_maps":         "",
			"smtpd_helo_restrictions":      "reject_unknown_helo_hostname",
			"smtpd_recipient_restrictions": "reject_unknown_recipient_domain, reject_rhsbl_client rhsbl.example, reject_rhsbl_recipient rhsbl.example, reject_unauth_destination",
			"relay_domains":                "dest.example, listed.example, nx.example, tempfail.example.org",
		}
	}
	type tc struct {
		helo, client, rcpt, want string
	}
	check := func(params Params, cases []tc) {
		t.Helper()
		p, err := New(params, WithResolver(d.resolver()))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			req := rcptReq("198.51.100.77", c.helo, "a@example.org", c.rcpt)
			req.ClientName = c.client
			if got := mustCheck(t, p, StageRecipient, req).String(); got != c.want {
				t.Errorf("%+v: got %q want %q", c, got, c.want)
			}
		}
	}
	check(base(), []tc{
		{"host.example.org", "unknown", "u@dest.example", "DUNNO"},
		{"mxonly.example.org", "unknown", "u@dest.example", "DUNNO"},
		{"nx.example.org", "unknown", "u@dest.example", "450 4.7.1 <nx.example.org>: Helo command rejected: Host not found"},
		{"tempfail.example.org", "unknown", "u@dest.example", "450 4.7.1 <tempfail.example.org>: Helo command rejected: Host not found"},
		{"[192.0.2.1]", "unknown", "u@dest.example", "DUNNO"},
		{"host.example.org", "unknown", "u@nx.example", "450 4.1.2 <u@nx.example>: Recipient address rejected: Domain not found"},
		{"host.example.org", "unknown", "u@example.jp", "DUNNO"},
		{"host.example.org", "unknown", "u@tempfail.example.org", "450 4.1.2 <u@tempfail.example.org>: Recipient address rejected: Domain not found"},
		{"host.example.org", "mail.listed.example", "u@dest.example", "DUNNO"},
		{"host.example.org", "listed.example", "u@dest.example",
			"554 5.7.1 Service unavailable; Client host [listed.example] blocked using rhsbl.example; see https://rhsbl.example/listed.example"},
		{"host.example.org", "unknown", "u@listed.example",
			"554 5.7.1 Service unavailable; Recipient address [u@listed.example] blocked using rhsbl.example; see https://rhsbl.example/listed.example"},
	})
	params := base()
	params["smtpd_helo_restrictions"] = "reject_unknown_hostname"
	params["unknown_hostname_reject_code"] = "550"
	params["unknown_address_reject_code"] = "554"
	params["unknown_address_tempfail_action"] = "defer"
	check(params, []tc{
		{"nx.example.org", "unknown", "u@dest.example", "550 5.7.1 <nx.example.org>: Helo command rejected: Host not found"},
		{"tempfail.example.org", "unknown", "u@dest.example", "450 4.7.1 <tempfail.example.org>: Helo command rejected: Host not found"},
		{"host.example.org", "unknown", "u@nx.example", "554 5.1.2 <u@nx.example>: Recipient address rejected: Domain not found"},
		{"host.example.org", "unknown", "u@tempfail.example.org", "450 4.1.2 <u@tempfail.example.org>: Recipient address rejected: Domain not found"},
	})
}

// TestPermitAuthDestination: permit_auth_destination permits local,
// virtual and relay_domains recipients (parent domains of relay_domains
// too, by parent_domain_matches_subdomains) and nothing else.
func TestPermitAuthDestination(t *testing.T) {
	p, err := New(Params{
		"mydestination":                "example.jp",
		"relay_domains":                "relay.example",
		"virtual_alias_domains":        "alias.example",
		"virtual_alias_maps":           "inline:{ a@alias.example=u@example.jp }",
		"smtpd_relay_restrictions":     "",
		"smtpd_recipient_restrictions": "permit_auth_destination, reject",
		"local_recipient_maps":         "",
	}, WithResolver(noDNS{}))
	if err != nil {
		t.Fatal(err)
	}
	for rcpt, want := range map[string]string{
		"u@example.jp":           "PERMIT",
		"u@relay.example":        "PERMIT",
		"u@sub.relay.example":    "PERMIT",
		"a@alias.example":        "PERMIT",
		"u@elsewhere.example":    "554 5.7.1 <u@elsewhere.example>: Recipient address rejected: Access denied",
		"u%elsewhere@example.jp": "554 5.7.1 <u%elsewhere@example.jp>: Recipient address rejected: Access denied",
	} {
		if got := mustCheck(t, p, StageRecipient, rcptReq("203.0.113.1", "h.example.org", "a@example.org", rcpt)).String(); got != want {
			t.Errorf("%s: got %q want %q", rcpt, got, want)
		}
	}
}

// TestAnvilAuthRateAndExceptions covers smtpd_client_auth_rate_limit,
// smtpd_client_new_tls_session_rate_limit and an explicit
// smtpd_client_event_limit_exceptions (which replaces $mynetworks).
func TestAnvilAuthRateAndExceptions(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, err := New(Params{
		"myhostname":                              "mx.example.jp",
		"mynetworks":                              "192.168.1.0/24",
		"anvil_rate_time_unit":                    "10s",
		"smtpd_client_auth_rate_limit":            "3",
		"smtpd_client_new_tls_session_rate_limit": "2",
		"smtpd_client_event_limit_exceptions":     "203.0.113.0/24",
		"smtpd_recipient_restrictions":            "reject_unauth_destination",
	}, WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	l := p.NewLimiter()
	out := netip.MustParseAddr("198.51.100.7")
	for i := 0; i < 3; i++ {
		if d := l.Auth(out); d.Refused() {
			t.Fatalf("AUTH %d: %v", i+1, d)
		}
	}
	if d := l.Auth(out); d.String() != "450 4.7.1 Error: too many AUTH commands from 198.51.100.7" {
		t.Fatalf("AUTH 4: %v", d)
	}
	for i := 0; i < 2; i++ {
		if d := l.NewTLSSession(out); d.Refused() {
			t.Fatalf("TLS %d: %v", i+1, d)
		}
	}
	if d := l.NewTLSSession(out); d.String() != "421 4.7.0 mx.example.jp Error: too many new TLS sessions from 198.51.100.7" {
		t.Fatalf("TLS 3: %v", d)
	}
	clock.t = clock.t.Add(10 * time.Second)
	if d := l.Auth(out); d.Refused() {
		t.Fatalf("next time unit: %v", d)
	}
	// The explicit exception list replaces the $mynetworks default.
	lan, exempt := netip.MustParseAddr("192.168.1.9"), netip.MustParseAddr("203.0.113.9")
	for i := 0; i < 3; i++ {
		l.Auth(lan)
	}
	if d := l.Auth(lan); !d.Refused() {
		t.Error("mynetworks client exempt although smtpd_client_event_limit_exceptions does not list it")
	}
	for i := 0; i < 10; i++ {
		if d := l.Auth(exempt); d.Refused() {
			t.Fatalf("listed exception limited: %v", d)
		}
	}
}

// TestSeedRestrictionSettingsParse pastes each seed's restriction
// settings (as the guides print them) into New.
func TestSeedRestrictionSettingsParse(t *testing.T) {
	seeds := map[string]Params{
		"000": {"smtpd_helo_required": "yes", "smtpd_helo_restrictions": "permit_mynetworks reject_unknown_hostname",
			"smtpd_recipient_restrictions": "permit_mynetworks,\n        reject_unknown_sender_domain,\n        reject"},
		"002": {"smtpd_helo_required": "yes", "smtpd_helo_restrictions": "permit_mynetworks, reject_invalid_helo_hostname",
			"smtpd_sender_restrictions": "permit_mynetworks, reject_unknown_sender_domain", "smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination"},
		"003": {"smtpd_relay_restrictions": "permit_mynetworks permit_sasl_authenticated defer_unauth_destination",
			"smtpd_sender_restrictions": "reject_sender_login_mismatch", "smtpd_sender_login_maps": "inline:{ u@example.com=u }"},
		"004": {"smtpd_recipient_restrictions": "permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination"},
	}
	for name, params := range seeds {
		if _, err := New(params, WithResolver(noDNS{})); err != nil {
			t.Errorf("seed %s: %v", name, err)
		}
	}
	if !strings.Contains(seed001MainCF, "warn_if_reject reject_rbl_client") {
		t.Fatal("seed 001 text changed")
	}
}

// TestUnsupportedRestrictionsRefused: restrictions this package cannot
// evaluate fail in New with the parameter, position and name.
func TestUnsupportedRestrictionsRefused(t *testing.T) {
	for list, want := range map[string]string{
		"reject_unverified_recipient, reject_unauth_destination": `smtpd_recipient_restrictions: element 1 "reject_unverified_recipient": address verification is not supported`,
		"reject_unauth_destination, reject_unverified_sender":    `smtpd_recipient_restrictions: element 2 "reject_unverified_sender": address verification is not supported`,
		"permit_tls_clientcerts, reject_unauth_destination":      `smtpd_recipient_restrictions: element 1 "permit_tls_clientcerts": TLS client certificates are not supported`,
	} {
		_, err := New(Params{"smtpd_recipient_restrictions": list})
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", list, err, want)
		}
	}
}

// TestResolveClassesAndDelimiter resolves one address of each class,
// with recipient_delimiter extensions through virtual_alias_maps
// (propagate_unmatched_extensions), virtual mailbox and relay domains,
// transport_maps entries with and without nexthop, and unknown virtual
// mailbox recipients refused at RCPT.
func TestResolveClassesAndDelimiter(t *testing.T) {
	params := Params{
		"myhostname":                   "mail.example.net",
		"mydomain":                     "example.net",
		"mydestination":                "$myhostname, localhost.$mydomain, localhost, $mydomain",
		"recipient_delimiter":          "+",
		"virtual_alias_domains":        "example.com",
		"virtual_alias_maps":           "inline:{ info@example.com=user22@example.net, { sales@example.com = s1@example.net, s2@example.org } }",
		"virtual_mailbox_domains":      "vmail.example",
		"virtual_mailbox_maps":         "inline:{ u@vmail.example=vmail.example/u/ }",
		"relay_domains":                "relay.example",
		"transport_maps":               "inline:{ lmtp.example=lmtp:unix:private/dovecot-lmtp, { .routed.example = smtp:[relay.example.jp]:587 }, relay.example=relay: }",
		"smtpd_recipient_restrictions": "reject_unauth_destination",
		"local_recipient_maps":         "",
	}
	p, err := New(params, WithResolver(noDNS{}))
	if err != nil {
		t.Fatal(err)
	}
	show := func(rcpt string) string {
		d, err := p.Resolve(t.Context(), rcpt)
		if err != nil {
			return "error: " + err.Error()
		}
		var out []string
		for _, tg := range d.Targets {
			out = append(out, strings.Join([]string{tg.Address, tg.Class.String(), tg.Transport, tg.Nexthop, tg.User, tg.Extension}, "|"))
		}
		return d.Class.String() + " " + strings.Join(out, " ")
	}
	for rcpt, want := range map[string]string{
		"info+news@example.com": "virtual alias user22+news@example.net|local|local|mail.example.net|user22|news",
		"sales@example.com":     "virtual alias s1@example.net|local|local|mail.example.net|s1| s2@example.org|default|smtp|example.org|s2|",
		"alice+tag@example.net": "local alice+tag@example.net|local|local|mail.example.net|alice|tag",
		"u+x@vmail.example":     "virtual mailbox u+x@vmail.example|virtual mailbox|virtual||u|x",
		"x@relay.example":       "relay x@relay.example|relay|relay|relay.example|x|",
		"x@lmtp.example":        "default x@lmtp.example|default|lmtp|unix:private/dovecot-lmtp|x|",
		"x@a.routed.example":    "default x@a.routed.example|default|smtp|[relay.example.jp]:587|x|",
		"x@routed.example":      "default x@routed.example|default|smtp|routed.example|x|",
		"nobody+z@example.com":  "error: restrict: user unknown: <nobody+z@example.com>: User unknown in virtual alias table",
	} {
		if got := show(rcpt); got != want {
			t.Errorf("%s:\n got %s\nwant %s", rcpt, got, want)
		}
	}
	d := mustCheck(t, p, StageRecipient, rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "x@vmail.example"))
	if d.String() != "550 5.1.1 <x@vmail.example>: Recipient address rejected: User unknown in virtual mailbox table" {
		t.Errorf("unknown virtual mailbox: %v", d)
	}
}
