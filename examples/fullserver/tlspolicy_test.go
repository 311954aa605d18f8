package main

import (
	"compress/gzip"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/msgauth"
	"github.com/yubinmail/yubin/tlspolicy"
)

// TestUnboundPostfixDANERelay: the fullserver, with Postfix's
// smtp_tls_security_level = dane and smtp_dns_support_level = dnssec
// and its resolver pointed at the real unbound (validating the real
// nsd's zone signed by ldns-signzone), relays mail from mynetworks to a
// real Postfix: to a domain whose TLSA record matches the Postfix
// certificate the mail goes and "Verified TLS" is logged; to one whose
// TLSA record does not match, it is deferred with "Server certificate
// not trusted" and Postfix never gets it. With smtp_tls_rpt = yes the
// sessions are counted; the counts survive a restart (queue_directory/
// tlspolicy/tlsrpt.json), and the report for ok.dane.test (which
// publishes a TLS-RPT record), sent by the restarted server, counts the
// session from before the restart. It goes through the queue to its
// rua= address (the real smtp-sink), DKIM-signed for the sender's
// domain (RFC 8460 3), which the msgauth verifier and dkimpy accept.
func TestUnboundPostfixDANERelay(t *testing.T) {
	t.Parallel()
	cert := testutil.NewTLSNames(t, "mx-ok.dane.test", "mx-bad.dane.test")
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`smtpd_tls_cert_file = %s
smtpd_tls_key_file = %s
smtpd_tls_security_level = may
default_transport = discard
relay_transport = discard
`, cert.CertFile, cert.KeyFile))
	port := strconv.Itoa(pf.SMTPPort)
	leaf, err := x509.ParseCertificate(cert.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	ee := tlspolicy.RecordFor(leaf, tlspolicy.DANEEE, tlspolicy.SelectorSPKI, tlspolicy.MatchSHA256)
	zone := fmt.Sprintf(`@ SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ NS ns.dane.test.
ns A 127.0.0.1
ok MX 10 mx-ok.dane.test.
mx-ok A 127.0.0.1
_%[1]s._tcp.mx-ok TLSA 3 1 1 %[2]s
_smtp._tls.ok TXT "v=TLSRPTv1; rua=mailto:tlsrpt@rpt.test"
bad MX 10 mx-bad.dane.test.
mx-bad A 127.0.0.1
_%[1]s._tcp.mx-bad TLSA 3 1 1 %[3]s
`, port, hex.EncodeToString(ee.Data), strings.Repeat("00", 32))
	signed := testutil.SignZone(t, "dane.test.", zone)
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	keyZone, keySetting := genDKIMKeys(t, in, "yubin.test")
	ns := testutil.StartNSD(t, map[string]string{"dane.test.": signed.Text,
		"yubin.test.": "@ SOA ns.yubin.test. hostmaster.yubin.test. 1 3600 600 86400 60\n@ NS ns.yubin.test.\nns A 127.0.0.1\n" + keyZone})
	ub := testutil.StartUnbound(t, map[string]string{"dane.test.": ns.Addr}, signed.Anchor)
	conf := func(interval string) string {
		return fmt.Sprintf(`mynetworks = 127.0.0.0/8
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_dnssec_nameserver = %s
smtp_tls_rpt = yes
smtp_tls_rpt_interval = %s
smtp_tls_rpt_sender = noreply-tlsrpt@yubin.test
transport_maps = inline:{ok.dane.test=smtp:ok.dane.test:%[3]s, bad.dane.test=smtp:bad.dane.test:%[3]s, rpt.test=smtp:[127.0.0.1]:%[4]d}
`, ub.Addr, interval, port, sink.Port) + keySetting
	}
	in.reconfigure(conf("1h"))
	in.start()
	out := in.python(smtpToLMTPScript, "SMTP="+strconv.Itoa(in.ports["smtp"]), "RCPTS=u@ok.dane.test;u@bad.dane.test")
	if strings.Count(out, "OK") != 2 {
		t.Fatalf("python:\n%s", out)
	}
	in.waitLog("Verified TLS connection established to mx-ok.dane.test[127.0.0.1]:" + port)
	in.waitLog("to=<u@ok.dane.test>, relay=mx-ok.dane.test[127.0.0.1]:" + port)
	in.waitLog("status=deferred (Server certificate not trusted)")
	pf.WaitLog(t, "to=<u@ok.dane.test>", 10*time.Second)
	if strings.Contains(pf.Log(), "to=<u@bad.dane.test>") {
		t.Errorf("Postfix received the mail for bad.dane.test:\n%s", pf.Log())
	}
	// A restart: the counts so far are saved and read back.
	in.cmd.Process.Signal(syscall.SIGTERM)
	<-in.done
	state, err := os.ReadFile(filepath.Join(in.data, "queue", "tlspolicy", "tlsrpt.json"))
	if err != nil || !strings.Contains(string(state), `"Domain":"ok.dane.test"`) {
		t.Fatalf("saved TLS-RPT counts: %v\n%s", err, state)
	}
	in2 := &instance{t: t, data: in.data, cfg: in.cfg, ports: map[string]int{}, done: make(chan struct{})}
	in2.reconfigure(conf("2s"))
	in2.start()
	in2.waitLog("TLS-RPT report sent")
	msgs := sink.WaitMessages(t, 1, 20*time.Second)
	if len(msgs) == 0 {
		t.Fatal("no TLS-RPT report reached the sink")
	}
	report := sinkMessage(msgs[0])
	v := &msgauth.Verifier{Resolver: ns.Resolver(), Limits: msgauth.Limits{Timeout: 5 * time.Second}}
	res, err := v.VerifyDKIM(context.Background(), strings.NewReader(report))
	if err != nil || len(res) == 0 || res[0].Result != msgauth.ResultPass || res[0].Domain != "yubin.test" {
		t.Fatalf("report's DKIM: %+v %v\n%s", res, err, report)
	}
	if r := dkimpyVerify(t, ns.Addr, report, false); r != "pass" {
		t.Errorf("dkimpy's verify of the report: %s", r)
	}
	js := reportJSON(t, report)
	for _, want := range []string{`"policy-domain":"ok.dane.test"`, `"total-successful-session-count":1`} {
		if !strings.Contains(js, want) {
			t.Errorf("report lacks %s:\n%s", want, js)
		}
	}
}

// reportJSON returns the JSON of a TLS-RPT report mail's gzipped part.
func reportJSON(t *testing.T, msg string) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no gzip part: %v", err)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "application/tlsrpt+gzip") {
			continue
		}
		gz, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(gz)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}
