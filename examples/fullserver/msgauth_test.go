package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// genDKIMKeys runs "fullserver dkim genkey DOMAIN" for the instance and
// returns the zone lines it printed and its dkim_keys setting.
func genDKIMKeys(t *testing.T, in *instance, domain string) (zone, setting string) {
	t.Helper()
	code, out, errText := runCmd(t, "", "-config", in.cfg, "dkim", "genkey", domain)
	if code != 0 {
		t.Fatalf("dkim genkey: %d\n%s%s", code, out, errText)
	}
	// The records are the lines between the "; Publish" comment and
	// the first blank line.
	_, rest, _ := strings.Cut(out, ":\n")
	z, _, _ := strings.Cut(rest, "\n\n")
	i := strings.Index(out, "dkim_keys = ")
	if strings.Count(z, "._domainkey."+domain+".") != 2 || i < 0 || !strings.Contains(z, "k=rsa") || !strings.Contains(z, "k=ed25519") {
		t.Fatalf("dkim genkey printed:\n%s", out)
	}
	// A second run must not overwrite the keys.
	if code, _, _ := runCmd(t, "", "-config", in.cfg, "dkim", "genkey", domain); code == 0 {
		t.Fatal("dkim genkey overwrote existing keys")
	}
	return z + "\n", out[i:]
}

// TestOpenDKIMSubmissionSignedAtRelayhost: a message an authenticated
// user submits for another domain reaches the relayhost (smtp-sink)
// with an RSA and an Ed25519 DKIM signature made with the keys "fullserver
// dkim genkey" printed, and the real OpenDKIM verifies them against the
// printed TXT records served by nsd.
func TestOpenDKIMSubmissionSignedAtRelayhost(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\n")
	os.MkdirAll(in.data, 0o755)
	zone, setting := genDKIMKeys(t, in, "example.test")
	f, err := os.OpenFile(in.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(setting)
	f.Close()
	ns := testutil.StartNSD(t, map[string]string{"example.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n" + zone})
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.login('alice@localhost', 'pw-alice')
s.sendmail('alice@localhost', ['bob@example.net'], 'From: Alice <alice@example.test>\r\nTo: bob@example.net\r\nSubject: signed for alice\r\n\r\nhello \xe3\x81\x82\r\n\r\n'.encode('latin-1'))
print('AUTH sent')
s.quit()
`, "SUB="+strconv.Itoa(in.ports["submission"]))
	if !strings.Contains(out, "AUTH sent") {
		t.Fatalf("python:\n%s", out)
	}
	msgs := sink.WaitMessages(t, 1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("the relayhost got %d messages", len(msgs))
	}
	m := msgs[0]
	if n := strings.Count(m, "DKIM-Signature:"); n != 2 || !strings.Contains(m, "a=rsa-sha256") || !strings.Contains(m, "a=ed25519-sha256") {
		t.Fatalf("the relayed message has %d DKIM signatures:\n%s", n, m)
	}
	od := testutil.NewOpenDKIM(t, ns.Addr)
	if v := od.Verify(t, []byte(m)); !v.Pass {
		t.Fatalf("opendkim: %s\n%s", v.Output, m)
	}
	// Changed in transit, it fails.
	if v := od.Verify(t, []byte(strings.Replace(m, "hello", "HELLO", 1))); v.Pass {
		t.Fatalf("opendkim passed a changed body: %s", v.Output)
	}
	in.waitLog("DKIM-Signature field added (2)")
}

// TestDMARCForgedFromRefused: with inbound checks on, a message from
// outside (not mynetworks, not authenticated) whose From claims a domain
// publishing p=reject, without that domain's SPF or DKIM, is refused at
// the end of DATA with 550 5.7.1 and delivered to nobody; a message from
// a domain without DMARC is accepted and reaches the mailbox with an
// Authentication-Results header of this host, the forged one that came
// with it removed.
func TestDMARCForgedFromRefused(t *testing.T) {
	t.Parallel()
	ns := testutil.StartNSD(t, map[string]string{
		"example.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n" +
			"@ TXT \"v=spf1 ip4:192.0.2.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n",
		"nodmarc.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n",
	})
	in := newInstance(t, "mynetworks = 192.0.2.0/24\nmsgauth_inbound_checks = yes\nmsgauth_nameservers = "+ns.Addr+"\nauthserv_id = mx.yubin.test\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('client.nodmarc.test')
try:
    s.sendmail('ceo@example.test', ['alice@localhost'], 'From: CEO <ceo@example.test>\r\nTo: alice@localhost\r\nSubject: wire money\r\n\r\nnow\r\n')
    print('FORGED accepted')
except smtplib.SMTPDataError as e:
    print('FORGED refused', e.smtp_code, e.smtp_error.decode())
s.sendmail('news@nodmarc.test', ['alice@localhost'], 'Authentication-Results: mx.yubin.test; dmarc=pass header.from=example.test\r\nFrom: news@nodmarc.test\r\nTo: alice@localhost\r\nSubject: newsletter\r\n\r\nnews\r\n')
print('NEWS sent')
s.quit()
wait_mail('alice', 1)
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
m.select('INBOX')
typ, data = m.search(None, 'ALL')
for num in data[0].split():
    typ, d = m.fetch(num, '(BODY.PEEK[HEADER])')
    print('MSG', d[0][1].decode().replace('\r\n\t', ' ').replace('\r\n', ' | '))
m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]))
	if !regexp.MustCompile(`FORGED refused 550 5\.7\.1 rejected by DMARC policy for example\.test`).MatchString(out) {
		t.Fatalf("forged From not refused:\n%s", out)
	}
	if strings.Count(out, "MSG ") != 1 || strings.Contains(out, "wire money") {
		t.Fatalf("mailbox:\n%s", out)
	}
	for _, want := range []string{"Authentication-Results: mx.yubin.test;", "spf=pass smtp.mailfrom=news@nodmarc.test", "dmarc=none", "dkim=none"} {
		if !strings.Contains(out, want) {
			t.Errorf("delivered header lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "header.from=example.test") {
		t.Errorf("the forged Authentication-Results with our id was kept:\n%s", out)
	}
	in.waitLog("dmarc: example.test fail (p=reject), action reject")
}

// TestSPFPolicyServiceRestriction: "check_policy_service
// unix:private/policyd-spf" in smtpd_recipient_restrictions, the line a
// Postfix admin writes for policyd-spf, is answered in-process: a sender
// whose domain's SPF policy fails the client is refused at RCPT with
// 550 5.7.23, one whose policy passes is accepted.
func TestSPFPolicyServiceRestriction(t *testing.T) {
	t.Parallel()
	ns := testutil.StartNSD(t, map[string]string{
		"example.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n@ TXT \"v=spf1 ip4:192.0.2.1 -all\"\n",
		"nodmarc.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n",
	})
	in := newInstance(t, "mynetworks = 192.0.2.0/24\nmsgauth_nameservers = "+ns.Addr+"\n"+
		"smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_policy_service unix:private/policyd-spf\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('client.nodmarc.test')
for sender in ('ceo@example.test', 'news@nodmarc.test'):
    s.mail(sender)
    code, msg = s.rcpt('alice@localhost')
    print('RCPT', sender, code, msg.decode())
    s.rset()
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !regexp.MustCompile(`RCPT ceo@example.test 550 5\.7\.23 <alice@localhost>: Recipient address rejected: SPF fail: 127\.0\.0\.1 is not allowed to send mail for example\.test`).MatchString(out) {
		t.Fatalf("SPF fail not refused:\n%s", out)
	}
	if !strings.Contains(out, "RCPT news@nodmarc.test 250") {
		t.Fatalf("SPF pass refused:\n%s", out)
	}
}

// TestDMARCQuarantineHeld: a DMARC failure under p=quarantine, and under
// p=reject with dmarc_reject_action = quarantine, is accepted and put on
// hold (dmarc_quarantine_action = hold), as OpenDMARC's quarantine puts
// it in Postfix's hold queue; nothing reaches the mailbox.
func TestDMARCQuarantineHeld(t *testing.T) {
	t.Parallel()
	soa := "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"
	ns := testutil.StartNSD(t, map[string]string{
		"quarantine.test.": soa + "_dmarc TXT \"v=DMARC1; p=quarantine\"\n",
		"reject.test.":     soa + "_dmarc TXT \"v=DMARC1; p=reject\"\n",
	})
	in := newInstance(t, "mynetworks = 192.0.2.0/24\nmsgauth_inbound_checks = yes\nmsgauth_nameservers = "+ns.Addr+"\ndmarc_reject_action = quarantine\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('client.example.org')
for d in ('quarantine.test', 'reject.test'):
    s.sendmail('x@' + d, ['alice@localhost'], 'From: boss@' + d + '\r\nTo: alice@localhost\r\nSubject: ' + d + '\r\n\r\nx\r\n')
    print('SENT', d)
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if strings.Count(out, "SENT ") != 2 {
		t.Fatalf("python:\n%s", out)
	}
	in.waitLog("dmarc: quarantine.test fail (p=quarantine), action hold")
	in.waitLog("dmarc: reject.test fail (p=reject), action hold")
	in.waitLog("hold: from=<x@quarantine.test>")
	in.waitLog("hold: from=<x@reject.test>")
}
