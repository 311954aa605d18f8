package main

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/msgauth"
)

// TestARCTrustedSealerExcusesDMARC: a list (lists.test) forwards mail
// whose From domain publishes p=reject; the list's ARC set recorded
// dmarc=pass. With arc_trusted_sealers = lists.test the DMARC failure is
// excused and the message is delivered to alice, and forwarded by an
// alias (fwd: bob@remote.test) through relayhost, the real smtp-sink.
// arc_sealing (with the key "fullserver dkim genkey" made) seals only
// the copy that leaves: alice's copy keeps the list's one set, the
// forwarded copy gets i=2 cv=pass carrying this host's
// Authentication-Results, and its chain of two sets validates here and
// in dkimpy against the records nsd serves. The same mail sealed by an
// untrusted list is refused with 550 5.7.1.
func TestARCTrustedSealerExcusesDMARC(t *testing.T) {
	t.Parallel()
	soa := "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"
	lists := map[string]*msgauth.Key{}
	zones := map[string]string{"example.test.": soa + "@ TXT \"v=spf1 ip4:192.0.2.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"}
	for _, d := range []string{"lists.test", "untrusted.test"} {
		k, _, err := msgauth.GenerateKey(msgauth.AlgRSA) // dkimpy's ARC knows RSA only
		if err != nil {
			t.Fatal(err)
		}
		line, err := msgauth.ZoneRecord(d, "list", k.Public())
		if err != nil {
			t.Fatal(err)
		}
		lists[d] = &msgauth.Key{Domain: d, Selector: "list", Signer: k}
		zones[d+"."] = soa + line + "\n"
	}
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	aliases := filepath.Join(testutil.SharedDir(t), "aliases")
	os.WriteFile(aliases, []byte("fwd: bob@remote.test\n"), 0o644)
	in := newInstance(t, "alias_maps = texthash:"+aliases+"\nrelayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\n")
	os.MkdirAll(in.data, 0o755)
	zone, setting := genDKIMKeys(t, in, "yubin.test")
	zones["yubin.test."] = soa + zone
	ns := testutil.StartNSD(t, zones)
	f, err := os.OpenFile(in.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("mynetworks = 192.0.2.0/24\nmsgauth_inbound_checks = yes\nmsgauth_nameservers = " + ns.Addr +
		"\nauthserv_id = mx.yubin.test\narc_trusted_sealers = lists.test\narc_sealing = yes\narc_seal_domain = yubin.test\n" + setting)
	f.Close()

	// What the lists send: the author's message, changed by the list
	// (so the author's DKIM would fail) and sealed by it.
	orig := "From: CEO <ceo@example.test>\r\nTo: team@lists.test\r\nSubject: [team] plan\r\nMessage-ID: <p1@example.test>\r\n\r\nthe plan\r\n-- \r\nteam list footer\r\n"
	listRes := &msgauth.Results{DMARC: msgauth.DMARCResult{Result: msgauth.ResultPass, From: "example.test"}, ARC: msgauth.ARCResult{Result: msgauth.ResultNone}}
	sealed := map[string]string{}
	for d, k := range lists {
		set, err := (&msgauth.ARCSealer{Key: k, AuthservID: "mx." + d}).Seal(context.Background(), strings.NewReader(orig), listRes)
		if err != nil {
			t.Fatal(err)
		}
		sealed[d] = set + orig
	}
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
import base64
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('mail.lists.test')
for name in ('TRUSTED', 'UNTRUSTED'):
    try:
        s.sendmail('team-bounces@lists.test', ['alice@localhost', 'fwd@localhost'], base64.b64decode(os.environ[name]))
        print(name, 'accepted')
    except smtplib.SMTPDataError as e:
        print(name, 'refused', e.smtp_code, e.smtp_error.decode())
s.quit()
wait_mail('alice', 1)
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
m.select('INBOX')
typ, data = m.search(None, 'ALL')
for num in data[0].split():
    typ, d = m.fetch(num, '(BODY.PEEK[])')
    print('MSG', base64.b64encode(d[0][1]).decode())
m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]),
		"TRUSTED="+base64.StdEncoding.EncodeToString([]byte(sealed["lists.test"])),
		"UNTRUSTED="+base64.StdEncoding.EncodeToString([]byte(sealed["untrusted.test"])))
	if !strings.Contains(out, "TRUSTED accepted") {
		t.Fatalf("trusted list's mail not accepted:\n%s", out)
	}
	if !regexp.MustCompile(`UNTRUSTED refused 550 5\.7\.1`).MatchString(out) {
		t.Fatalf("untrusted list's mail not refused:\n%s", out)
	}
	msgs := regexp.MustCompile(`MSG (\S+)`).FindAllStringSubmatch(out, -1)
	if len(msgs) != 1 {
		t.Fatalf("mailbox:\n%s", out)
	}
	raw, _ := base64.StdEncoding.DecodeString(msgs[0][1])
	got := string(raw)
	for _, want := range []string{"arc=pass", "dmarc=fail", "trusted ARC sealer lists.test", "ARC-Seal: i=1;"} {
		if !strings.Contains(got, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ARC-Seal: i=2") {
		t.Errorf("the copy delivered here was sealed:\n%s", got)
	}
	fwd := sink.WaitMessages(t, 1, 10*time.Second)
	if len(fwd) != 1 {
		t.Fatalf("the relayhost got %d messages", len(fwd))
	}
	got = sinkMessage(fwd[0])
	for _, want := range []string{"ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=yubin.test", "ARC-Authentication-Results: i=2; mx.yubin.test;"} {
		if !strings.Contains(got, want) {
			t.Errorf("forwarded message lacks %q:\n%s", want, got)
		}
	}
	v := &msgauth.Verifier{Resolver: ns.Resolver(), Limits: msgauth.Limits{Timeout: 5 * time.Second}}
	r, err := v.VerifyARC(context.Background(), strings.NewReader(got))
	if err != nil || r.Result != msgauth.ResultPass || len(r.Sets) != 2 || r.Sets[1].Sealer != "yubin.test" || !strings.Contains(r.Sets[1].AuthResults, "arc=pass") {
		t.Fatalf("forwarded chain: %+v %v\n%s", r, err, got)
	}
	if cv := dkimpyVerify(t, ns.Addr, got, true); cv != "pass" {
		t.Errorf("dkimpy's arc_verify of the forwarded copy: %s", cv)
	}
	in.waitLog("dmarc: failure excused by trusted ARC sealer lists.test")
	in.waitLog("ARC set added (cv=pass)")

	// A user's own mail claiming this host's results: the field is
	// removed on arrival, and the forwarded copy is not sealed.
	out = in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.login('alice@localhost', 'pw-alice')
s.sendmail('alice@localhost', ['fwd@localhost'], 'Authentication-Results: mx.yubin.test; dkim=pass header.d=bank.test\r\nFrom: alice@localhost\r\nSubject: forged\r\n\r\nhi\r\n')
print('SENT')
s.quit()
`, "SUB="+strconv.Itoa(in.ports["submission"]))
	if !strings.Contains(out, "SENT") {
		t.Fatalf("python:\n%s", out)
	}
	var forged string
	for _, m := range sink.WaitMessages(t, 2, 10*time.Second) {
		if strings.Contains(m, "Subject: forged") {
			forged = m
		}
	}
	if forged == "" || strings.Contains(forged, "mx.yubin.test; dkim=pass") || strings.Contains(forged, "ARC-Seal") {
		t.Fatalf("the user's forwarded mail (forged field kept or sealed):\n%s", forged)
	}
	in.waitLog("removed 1 Authentication-Results field(s) claiming mx.yubin.test")
}

// dkimpyVerify is dkimpy's (Debian's python3-dkim) arc_verify of msg
// ("pass", "fail" or "none") when arc, else its DKIM verify of the first
// signature ("pass" or "fail"), keys from the nsd at nsAddr.
func dkimpyVerify(t *testing.T, nsAddr, msg string, arc bool) string {
	t.Helper()
	py := testutil.RequireBinary(t, "/usr/bin/python3")
	_, port, _ := strings.Cut(nsAddr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", `
import sys, dkim, dns.resolver
res = dns.resolver.Resolver(configure=False)
res.nameservers = ['127.0.0.1']
res.port = int(sys.argv[1])
def txt(name, timeout=5):
    try:
        a = res.resolve(name.decode() if isinstance(name, bytes) else name, 'TXT', lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    for r in a:
        return b''.join(r.strings)
msg = sys.stdin.buffer.read()
if sys.argv[2] == 'arc':
    cv, _, reason = dkim.arc_verify(msg, dnsfunc=txt)
    print((cv or b'fail').decode(), reason)
else:
    print('pass' if dkim.verify(msg, dnsfunc=txt) else 'fail', 'dkim')
`, port, map[bool]string{true: "arc", false: "dkim"}[arc])
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named") {
			testutil.Unavailable(t, "dkimpy (Debian package python3-dkim) not importable: %s", out)
		}
		t.Fatalf("dkimpy: %v\n%s", err, out)
	}
	cv, reason, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if cv != "pass" {
		t.Logf("dkimpy: %s", reason)
	}
	return cv
}
