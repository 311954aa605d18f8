package restrict

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustCheck(t *testing.T, p *Policy, stage Stage, req *Request) Decision {
	t.Helper()
	d, err := p.Check(context.Background(), stage, req)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return d
}

// Seed 000: helo required, reject_unknown_hostname (old name), a
// recipient list ending in reject, and header_checks.
func TestSeed000(t *testing.T) {
	dir := t.TempDir()
	hc := writeFile(t, dir, "header_checks", "/^Received: from .*spam-net.com/ REJECT\n/^Received: from .*dsl.spam-net.co.jp/ REJECT \n")
	d := newTestDNS(t)
	d.addA("mx.example.org", "198.51.100.1")
	d.addMX("example.org", "mx.example.org")
	params := Params{
		"myhostname": "ms.example.jp",
		"mydomain":   "example.jp",
		"myorigin":   "$mydomain",
		"mynetworks": "192.168.1.0/24, 192.168.10.0/24, 127.0.0.0/8",
		// The guide's line, typo included; Postfix reads the extra words as domains.
		"mydestination":                "allmydestination = $mydomain, $myhostname, localhost.$mydomain, localhost",
		"mailbox_size_limit":           "2097152000",
		"message_size_limit":           "1048576000",
		"recipient_delimiter":          "+",
		"header_checks":                "regexp:" + hc,
		"smtpd_helo_required":          "yes",
		"smtpd_helo_restrictions":      "permit_mynetworks reject_unknown_hostname",
		"smtpd_recipient_restrictions": "permit_mynetworks,\n        reject_unknown_sender_domain,\n        reject",
		"local_recipient_maps":         "",
	}
	p, err := New(params, WithResolver(d.resolver()))
	if err != nil {
		t.Fatal(err)
	}
	if !p.HeloRequired() || p.MessageSizeLimit() != 1048576000 || p.MailboxSizeLimit() != 2097152000 {
		t.Fatalf("helo required %v, size %d, mailbox %d", p.HeloRequired(), p.MessageSizeLimit(), p.MailboxSizeLimit())
	}
	lan := rcptReq("192.168.10.7", "pc7", "me@example.jp", "friend@example.org")
	if got := mustCheck(t, p, StageRecipient, lan); got.Action != Permit {
		t.Errorf("LAN client: %v", got)
	}
	out := rcptReq("198.51.100.1", "nohost.example", "a@example.org", "user@example.jp")
	if got := mustCheck(t, p, StageRecipient, out).String(); got != "450 4.7.1 <nohost.example>: Helo command rejected: Host not found" {
		t.Errorf("unknown helo: %s", got)
	}
	out.Helo = "mx.example.org"
	if got := mustCheck(t, p, StageRecipient, out).String(); got != "554 5.7.1 <user@example.jp>: Recipient address rejected: Access denied" {
		t.Errorf("final reject: %s", got)
	}
	// header_checks at end of data.
	eod := &Request{ClientAddr: netip.MustParseAddr("192.168.1.9"), Sender: "a@example.jp", Recipient: "b@example.jp", RecipientCount: 1,
		Header: []HeaderLine{{Name: "From", Value: "a@example.jp"}, {Name: "Received", Value: "from mail.spam-net.com (mail.spam-net.com [192.0.2.1])\r\n\tby relay.example; Sun, 1 Jan 2026 00:00:00 +0000"}}}
	if got := mustCheck(t, p, StageEndOfData, eod).String(); got != "550 5.7.1 message content rejected" {
		t.Errorf("header_checks: %s", got)
	}
	eod.Header[1].Value = "from good.example (good.example [192.0.2.2])"
	if got := mustCheck(t, p, StageEndOfData, eod); got.Refused() {
		t.Errorf("clean header refused: %v", got)
	}
}

// Seed 002: aliases, transport maps, the three restriction lists.
func TestSeed002(t *testing.T) {
	dir := t.TempDir()
	aliases := writeFile(t, dir, "aliases", "# See man 5 aliases\npostmaster: root\nsysadmin: gacanepa, jdoe\nuser1: user1, user2\nteam: :include:"+filepath.Join(dir, "team")+"\n")
	writeFile(t, dir, "team", "# team list\nalice, bob@example.org\n")
	transport := writeFile(t, dir, "transport", "example.com.ar    local:\n.example.com.ar    local:\n")
	d := newTestDNS(t)
	d.addMX("example.org", "mx.example.org")
	params := Params{
		"myhostname":                   "mail.example.com.ar",
		"mydomain":                     "example.com.ar",
		"myorigin":                     "$mydomain",
		"mydestination":                "$myhostname, localhost.$mydomain, localhost, $mydomain",
		"alias_maps":                   "hash:" + aliases,
		"transport_maps":               "hash:" + transport,
		"mynetworks":                   "192.168.0.0/24",
		"relay_domains":                "$mydestination",
		"mailbox_size_limit":           "51200000",
		"message_size_limit":           "5120000",
		"smtpd_helo_required":          "yes",
		"smtpd_helo_restrictions":      "permit_mynetworks, reject_invalid_helo_hostname",
		"smtpd_sender_restrictions":    "permit_mynetworks, reject_unknown_sender_domain",
		"smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination",
		"local_recipient_maps":         "$alias_maps",
	}
	p, err := New(params, WithResolver(d.resolver()))
	if err != nil {
		t.Fatal(err)
	}
	dest, err := p.Resolve(context.Background(), "sysadmin@example.com.ar")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range dest.Targets {
		got = append(got, tg.Address+" "+tg.Transport)
	}
	if want := "gacanepa@example.com.ar local,jdoe@example.com.ar local"; strings.Join(got, ",") != want {
		t.Errorf("sysadmin expands to %q, want %q", strings.Join(got, ","), want)
	}
	dest, _ = p.Resolve(context.Background(), "user1@example.com.ar")
	if len(dest.Targets) != 2 || dest.Targets[0].User != "user1" || dest.Targets[1].User != "user2" {
		t.Errorf("user1: %+v", dest.Targets)
	}
	dest, _ = p.Resolve(context.Background(), "team@example.com.ar")
	if len(dest.Targets) != 2 || dest.Targets[0].Address != "alice@example.com.ar" || dest.Targets[1].Address != "bob@example.org" || dest.Targets[1].Transport != "smtp" {
		t.Errorf("team: %+v", dest.Targets)
	}
	dest, _ = p.Resolve(context.Background(), "x@sub.example.com.ar")
	if dest.Class != ClassRelay || len(dest.Targets) != 1 || dest.Targets[0].Transport != "local" {
		t.Errorf("subdomain transport: %+v", dest)
	}
	// RCPT checks: alias names are the local recipients here.
	rq := rcptReq("198.51.100.1", "mx.example.org", "a@example.org", "sysadmin@example.com.ar")
	if got := mustCheck(t, p, StageRecipient, rq); got.Refused() {
		t.Errorf("alias recipient refused: %v", got)
	}
	rq.Recipient = "nobody@example.com.ar"
	if got := mustCheck(t, p, StageRecipient, rq).String(); got != "550 5.1.1 <nobody@example.com.ar>: Recipient address rejected: User unknown in local recipient table" {
		t.Errorf("unknown local: %s", got)
	}
	rq.Recipient, rq.Helo = "sysadmin@example.com.ar", "-bad-"
	if got := mustCheck(t, p, StageRecipient, rq).String(); got != "501 5.5.2 <-bad->: Helo command rejected: Invalid name" {
		t.Errorf("bad helo: %s", got)
	}
}

func TestAliasesRefuseCommands(t *testing.T) {
	dir := t.TempDir()
	aliases := writeFile(t, dir, "aliases", "root: admin\nlist: \"|/usr/bin/mlmmj-receive -L /var/spool/mlmmj/list\"\n")
	params := Params{"alias_maps": "hash:" + aliases, "smtpd_recipient_restrictions": "reject_unauth_destination"}
	_, err := New(params)
	if err == nil || !strings.Contains(err.Error(), "aliases:2: alias \"list\": command target") {
		t.Fatalf("want file:line error for |command, got %v", err)
	}
	params["yubin_allow_alias_commands"] = "yes"
	p, err := New(params)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := p.Resolve(context.Background(), "list@localhost")
	if err != nil || len(dest.Targets) != 1 || dest.Targets[0].Command != "/usr/bin/mlmmj-receive -L /var/spool/mlmmj/list" {
		t.Fatalf("command alias: %+v %v", dest, err)
	}
}

// Seed 003: virtual_alias_maps for several domains, authenticated relay
// and reject_sender_login_mismatch.
func TestSeed003(t *testing.T) {
	dir := t.TempDir()
	virtual := writeFile(t, dir, "virtual", "info@example.com user22@example.net\nsales@example.com user11@example.org\n")
	logins := writeFile(t, dir, "sender_login", "user22@example.net user22\n@example.org user11, admin\n")
	params := Params{
		"myhostname":                "mail.example.net",
		"mydomain":                  "example.net",
		"mydestination":             "$myhostname, localhost.$mydomain, localhost, $mydomain",
		"virtual_alias_domains":     "example.com",
		"virtual_alias_maps":        "hash:" + virtual,
		"smtpd_sasl_auth_enable":    "yes",
		"smtpd_relay_restrictions":  "permit_mynetworks permit_sasl_authenticated\ndefer_unauth_destination",
		"smtpd_sender_restrictions": "reject_sender_login_mismatch",
		"smtpd_sender_login_maps":   "hash:" + logins,
		"local_recipient_maps":      "",
	}
	p, err := New(params)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := p.Resolve(context.Background(), "info@example.com")
	if err != nil || dest.Class != ClassVirtualAlias || len(dest.Targets) != 1 ||
		dest.Targets[0].Address != "user22@example.net" || dest.Targets[0].Class != ClassLocal {
		t.Fatalf("info@example.com: %+v %v", dest, err)
	}
	dest, err = p.Resolve(context.Background(), "sales@example.com")
	if err != nil || dest.Targets[0].Address != "user11@example.org" || dest.Targets[0].Transport != "smtp" || dest.Targets[0].Nexthop != "example.org" {
		t.Fatalf("sales@example.com: %+v %v", dest, err)
	}
	if _, err := p.Resolve(context.Background(), "nobody@example.com"); !errors.Is(err, ErrUnknownRecipient) {
		t.Fatalf("unknown virtual alias: %v", err)
	}
	ext := rcptReq("203.0.113.9", "mx.example.org", "", "nobody@example.com")
	if got := mustCheck(t, p, StageRecipient, ext).String(); got != "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual alias table" {
		t.Errorf("unknown virtual: %s", got)
	}
	ext.Recipient = "info@example.com"
	if got := mustCheck(t, p, StageRecipient, ext); got.Refused() {
		t.Errorf("virtual alias refused: %v", got)
	}
	ext.Recipient = "someone@elsewhere.example"
	if got := mustCheck(t, p, StageRecipient, ext).String(); got != "454 4.7.1 <someone@elsewhere.example>: Relay access denied" {
		t.Errorf("unauthenticated relay: %s", got)
	}
	auth := rcptReq("203.0.113.9", "laptop.example", "user22@example.net", "someone@elsewhere.example")
	auth.SASLUser = "user22"
	if got := mustCheck(t, p, StageRecipient, auth); got.Refused() {
		t.Errorf("authenticated relay: %v", got)
	}
	auth.SASLUser = "user11"
	if got := mustCheck(t, p, StageRecipient, auth).String(); got != "553 5.7.1 <user22@example.net>: Sender address rejected: not owned by user user11" {
		t.Errorf("login mismatch: %s", got)
	}
	auth.Sender = "boss@example.org" // @example.org is owned by user11 and admin
	if got := mustCheck(t, p, StageRecipient, auth); got.Refused() {
		t.Errorf("domain owner: %v", got)
	}
	ext.Sender, ext.Recipient = "user22@example.net", "info@example.com"
	if got := mustCheck(t, p, StageRecipient, ext).String(); got != "553 5.7.1 <user22@example.net>: Sender address rejected: not logged in" {
		t.Errorf("owned sender without login: %s", got)
	}
}

// The seed prints the virtual file with angle brackets; postmap then
// stores the key "<info@example.com>", which no lookup of
// info@example.com finds (checked with postmap -q). yubin does the same.
func TestSeed003BracketedVirtualFileDoesNotMatch(t *testing.T) {
	virtual := writeFile(t, t.TempDir(), "virtual", "<info@example.com> <user22@example.net>\n<sales@example.com> <user11@example.org>\n")
	p, err := New(Params{
		"virtual_alias_domains":        "example.com",
		"virtual_alias_maps":           "hash:" + virtual,
		"smtpd_recipient_restrictions": "reject_unauth_destination",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Resolve(context.Background(), "info@example.com"); !errors.Is(err, ErrUnknownRecipient) {
		t.Fatalf("got %v", err)
	}
}
