package restrict

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dsnLines lists "<prefix><i>@example.jp" (rcpt) or "<prefix><i>.example"
// (sender) keys answering "<code><i> dsn <i>" for i in 0..9, to compare
// the enhanced-code adjustment for each class.
func dsnLines(what, code string) string {
	var b strings.Builder
	for i := 0; i <= 9; i++ {
		d := string(rune('0' + i))
		if what == "rcpt" {
			b.WriteString("rcpt" + d + "@example.jp " + code + d + " dsn " + d + "\n")
		} else {
			b.WriteString("sender" + d + ".example " + code + d + " dsn " + d + "\n")
		}
	}
	return b.String()
}

// TestPostfixAccessResultsAndCodes compares, with a real Postfix smtpd,
// the access-table results not covered by TestPostfixAccessDecisions
// (DEFER with and without text, all-digit OK, numeric codes without an
// enhanced code, WARN, restriction lists and class names as results),
// check_client_access with a cidr: table, check_helo_access,
// reject_unlisted_sender, reject_unlisted_recipient in a list,
// permit_auth_destination with relay_domains, and changed
// *_reject_code parameters.
func TestPostfixAccessResultsAndCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	writeFile(t, dir, "client.cidr", "10.0.0.0/8 REJECT private\n127.0.0.0/8 DUNNO\n")
	writeFile(t, dir, "helo_access", `evil.example REJECT
soft.example 450 4.7.1 try later
nosy.example REJECT we know you
helodsn.example 550 5.1.2 helo dsn
listhelo.example reject_non_fqdn_sender
`)
	writeFile(t, dir, "sender_access", `bad@example.org REJECT
<> 550 no bounces here
deferred.example DEFER
digits.example 250
warned.example WARN be careful
`+dsnLines("sender", "550 5.1."))
	writeFile(t, dir, "rcpt_access", `blocked@example.jp REJECT
closed@example.jp REJECT mailbox closed
later@example.jp DEFER
latertext@example.jp DEFER come back tomorrow
code5@example.jp 551 5.1.6 moved away
code4@example.jp 452 too full
nodsn@example.jp 553 no dsn given
relayed@elsewhere.example OK
numeric@elsewhere.example 200
listed@elsewhere.example permit_auth_destination, reject_unlisted_recipient
class@elsewhere.example relay_ok
strict.example reject_unauth_destination
dunno@example.jp DUNNO
`+dsnLines("rcpt", "550 5.1."))
	writeFile(t, dir, "local_users", "alice x\nbob x\n")
	mainCF := strings.ReplaceAll(`myhostname = mx.example.jp
mydomain = example.jp
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
relay_domains = relay.example
mynetworks = 10.99.0.0/16
smtpd_relay_restrictions =
local_recipient_maps = texthash:DIR/local_users
smtpd_reject_unlisted_recipient = no
smtpd_restriction_classes = relay_ok
relay_ok = permit_auth_destination, reject
smtpd_client_restrictions = check_client_access cidr:DIR/client.cidr
smtpd_helo_restrictions = check_helo_access texthash:DIR/helo_access
smtpd_sender_restrictions = reject_unlisted_sender, check_sender_access texthash:DIR/sender_access
smtpd_recipient_restrictions = check_recipient_access texthash:DIR/rcpt_access, reject_unlisted_recipient, permit_auth_destination, reject
access_map_reject_code = 550
access_map_defer_code = 451
unknown_local_recipient_reject_code = 450
reject_code = 553
relay_domains_reject_code = 551
smtpd_hard_error_limit = 1000
smtpd_soft_error_limit = 1000
smtpd_error_sleep_time = 0
`, "DIR", dir)
	addr, p := startPostfixAndPolicy(t, mainCF)
	rcpts := []string{"alice@example.jp", "carol@example.jp", "blocked@example.jp", "closed@example.jp",
		"later@example.jp", "latertext@example.jp", "code5@example.jp", "code4@example.jp", "nodsn@example.jp",
		"relayed@elsewhere.example", "numeric@elsewhere.example", "listed@elsewhere.example",
		"class@elsewhere.example", "x@strict.example", "x@sub.strict.example", "dunno@example.jp",
		"rcpt0@example.jp", "rcpt1@example.jp", "rcpt2@example.jp", "rcpt3@example.jp", "rcpt4@example.jp",
		"rcpt5@example.jp", "rcpt6@example.jp", "rcpt7@example.jp", "rcpt8@example.jp", "rcpt9@example.jp",
		"someone@relay.example", "someone@sub.relay.example", "someone@elsewhere.example", "postmaster"}
	few := []string{"alice@example.jp", "someone@elsewhere.example"}
	probes := []rcptProbe{
		{"ok.example.org", "a@example.org", rcpts},
		{"evil.example", "a@example.org", few},
		{"sub.soft.example", "a@example.org", few},
		{"nosy.example", "a@example.org", few},
		{"listhelo.example", "user", few},
		{"listhelo.example", "a@example.org", few},
		{"ok.example.org", "bad@example.org", few},
		{"ok.example.org", "", few},
		{"ok.example.org", "x@deferred.example", few},
		{"ok.example.org", "x@digits.example", few},
		{"ok.example.org", "x@warned.example", few},
		{"ok.example.org", "ghost@example.jp", few},
		{"ok.example.org", "bob@example.jp", rcpts},
		{"helodsn.example", "bob@example.jp", few},
	}
	for i := 0; i <= 9; i++ {
		probes = append(probes, rcptProbe{"ok.example.org", "x@sender" + string(rune('0'+i)) + ".example", few[:1]})
	}
	compareRCPTWithPostfix(t, addr, p, probes)
}
