package main

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/tlspolicy"
)

// TestUnboundPostfixDANERelay: the fullserver, with Postfix's
// smtp_tls_security_level = dane and smtp_dns_support_level = dnssec
// and its resolver pointed at the real unbound (validating the real
// nsd's zone signed by ldns-signzone), relays mail from mynetworks to a
// real Postfix: to a domain whose TLSA record matches the Postfix
// certificate the mail goes and "Verified TLS" is logged; to one whose
// TLSA record does not match, it is deferred with "Server certificate
// not trusted" and Postfix never gets it. With smtp_tls_rpt = yes, the
// report for ok.dane.test (which publishes a TLS-RPT record) goes
// through the queue to its rua= address.
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
_smtp._tls.ok TXT "v=TLSRPTv1; rua=mailto:tlsrpt@ok.dane.test"
bad MX 10 mx-bad.dane.test.
mx-bad A 127.0.0.1
_%[1]s._tcp.mx-bad TLSA 3 1 1 %[3]s
`, port, hex.EncodeToString(ee.Data), strings.Repeat("00", 32))
	signed := testutil.SignZone(t, "dane.test.", zone)
	ns := testutil.StartNSD(t, map[string]string{"dane.test.": signed.Text})
	ub := testutil.StartUnbound(t, map[string]string{"dane.test.": ns.Addr}, signed.Anchor)

	in := newInstance(t, fmt.Sprintf(`mynetworks = 127.0.0.0/8
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_dnssec_nameserver = %s
smtp_tls_rpt = yes
smtp_tls_rpt_interval = 2s
transport_maps = inline:{ok.dane.test=smtp:ok.dane.test:%[2]s, bad.dane.test=smtp:bad.dane.test:%[2]s}
`, ub.Addr, port))
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
	// The TLS-RPT report for ok.dane.test, queued by the reporter and
	// delivered under DANE like any other mail.
	in.waitLog("TLS-RPT report sent")
	pf.WaitLog(t, "to=<tlsrpt@ok.dane.test>", 20*time.Second)
}
