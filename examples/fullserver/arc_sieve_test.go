package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/msgauth"
)

// TestDkimpySieveRedirectARC: mail from another host, DKIM-signed by
// its author's domain (sender.test: dkim, spf and dmarc pass against
// the records nsd serves), reaches alice, whose Sieve script redirects
// it to bob@remote.test. The copy the queue sends to relayhost (the real
// smtp-sink) carries one ARC set sealed by this host (i=1, cv=none,
// d=yubin.test) whose ARC-Authentication-Results record the arrival's
// dkim=pass and dmarc=pass; Debian's dkimpy (python3-dkim, an
// independent ARC implementation: OpenDKIM 2.11 and OpenDMARC 1.4 in
// Debian do not verify ARC) validates the chain, and so does msgauth,
// and dkimpy still verifies the author's DKIM signature.
func TestDkimpySieveRedirectARC(t *testing.T) {
	t.Parallel()
	soa := "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"
	k, _, err := msgauth.GenerateKey(msgauth.AlgRSA)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := msgauth.ZoneRecord("sender.test", "s1", k.Public())
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]string{"sender.test.": soa + rec + "\n@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"}
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\n")
	os.MkdirAll(in.data, 0o755)
	zone, setting := genDKIMKeys(t, in, "yubin.test")
	zones["yubin.test."] = soa + zone
	ns := testutil.StartNSD(t, zones)
	// 127.0.0.1 outside mynetworks: the test's mail comes from another host.
	in.appendConfig("mynetworks = 192.0.2.0/24\nmsgauth_inbound_checks = yes\nmsgauth_nameservers = " + ns.Addr +
		"\nauthserv_id = mx.yubin.test\narc_sealing = yes\narc_seal_domain = yubin.test\n" + setting)
	in.addUsers("alice")
	home := filepath.Join(in.data, "mail", "localhost", "alice")
	os.MkdirAll(home, 0o755)
	if err := os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte("redirect \"bob@remote.test\";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)

	signer := &msgauth.Signer{Keys: msgauth.DomainKeys{"sender.test": {{Domain: "sender.test", Selector: "s1", Signer: k}}}}
	orig := "From: Carol <carol@sender.test>\r\nTo: alice@localhost\r\nSubject: the quarterly figures\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <q4@sender.test>\r\n\r\nFigures attached, more or less.\r\n"
	sig, err := signer.Sign(context.Background(), strings.NewReader(orig))
	if err != nil || sig == "" {
		t.Fatalf("sign: %q %v", sig, err)
	}
	in.start()
	out := in.python(pyPrelude+`
import base64
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('mail.sender.test')
s.sendmail('carol@sender.test', ['alice@localhost'], base64.b64decode(os.environ['MSG']))
print('SENT')
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "MSG="+base64.StdEncoding.EncodeToString([]byte(sig+orig)))
	if !strings.Contains(out, "SENT") {
		t.Fatalf("python:\n%s", out)
	}
	msgs := sink.WaitMessages(t, 1, 15*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("the relayhost got %d messages", len(msgs))
	}
	got := sinkMessage(msgs[0])
	for _, want := range []string{"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=yubin.test", "ARC-Message-Signature: i=1;",
		"ARC-Authentication-Results: i=1; mx.yubin.test;", "dkim=pass", "dmarc=pass", "Subject: the quarterly figures"} {
		if !strings.Contains(got, want) {
			t.Errorf("redirected message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "i=2") {
		t.Errorf("more than one ARC set:\n%s", got)
	}
	if cv := dkimpyVerify(t, ns.Addr, got, true); cv != "pass" {
		t.Errorf("dkimpy's arc_verify of the redirected copy: %s\n%s", cv, got)
	}
	if r := dkimpyVerify(t, ns.Addr, got, false); r != "pass" {
		t.Errorf("dkimpy's DKIM verify of the author's signature after redirect: %s", r)
	}
	v := &msgauth.Verifier{Resolver: ns.Resolver(), Limits: msgauth.Limits{Timeout: 5 * time.Second}}
	r, err := v.VerifyARC(context.Background(), strings.NewReader(got))
	if err != nil || r.Result != msgauth.ResultPass || len(r.Sets) != 1 || r.Sets[0].Sealer != "yubin.test" ||
		!strings.Contains(r.Sets[0].AuthResults, "dkim=pass") || !strings.Contains(r.Sets[0].AuthResults, "dmarc=pass") {
		t.Fatalf("msgauth's ARC validation: %+v %v", r, err)
	}
	in.waitLog("ARC set added (cv=none)")
}
