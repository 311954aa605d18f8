package queue

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/tlspolicy"
)

// danePostfix is a real Postfix smtpd with STARTTLS and a self-signed
// certificate for names, which discards the mail it takes.
func danePostfix(t *testing.T, names ...string) (*testutil.SMTPPostfix, *testutil.TLSFixture, *x509.Certificate) {
	t.Helper()
	cert := testutil.NewTLSNames(t, names...)
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`smtpd_tls_cert_file = %s
smtpd_tls_key_file = %s
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
default_transport = discard
relay_transport = discard
`, cert.CertFile, cert.KeyFile))
	leaf, err := x509.ParseCertificate(cert.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return pf, cert, leaf
}

// TestUnboundDANE delivers under smtp_tls_security_level = dane and
// dane-only to a real Postfix, with DNS from the real nsd serving a zone
// signed by the real ldns-signzone, behind the real unbound validating
// with the zone's key as trust anchor (smtp_dns_support_level = dnssec):
// a DANE-EE match is delivered and logged "Verified TLS"; a TLSA
// mismatch is deferred and never sent (in clear or otherwise); a
// DANE-TA match needs the MX name in the certificate; unusable records
// (PKIX-EE) mean mandatory unauthenticated TLS; an unsigned TLSA record
// in the signed zone (bogus) defers with "TLSA lookup error"; an
// unsigned domain is opportunistic at dane and deferred at dane-only.
// An MX host that is a CNAME is judged by the TLSA records at the CNAME
// target (RFC 7672 2.2.2: a wrong record at the alias is not used), and
// one whose addresses come from an unsigned zone gets no DANE even with
// signed TLSA records of its own. A [host] nexthop (a relayhost) gets
// DANE from the host's own records. The TLS-RPT counts equal what
// happened, with the failures' sending-mta-ip and receiving-mx-helo.
func TestUnboundDANE(t *testing.T) {
	t.Parallel()
	pf, _, leaf := danePostfix(t, "mx-alias.dane.test", "mx-ok.dane.test", "mx-bad.dane.test", "mx-ta.dane.test", "mx-unusable.dane.test", "mx-bogus.dane.test", "mx.plain.test")
	port := smtpItoa(pf.SMTPPort)
	ee := tlspolicy.RecordFor(leaf, tlspolicy.DANEEE, tlspolicy.SelectorSPKI, tlspolicy.MatchSHA256)
	ta := tlspolicy.RecordFor(leaf, tlspolicy.DANETA, tlspolicy.SelectorCert, tlspolicy.MatchSHA256)
	pkix := tlspolicy.RecordFor(leaf, tlspolicy.PKIXEE, tlspolicy.SelectorSPKI, tlspolicy.MatchSHA256)
	wrong := ee
	wrong.Data = make([]byte, 32) // a digest of nothing the server has
	tlsa := func(host string, r tlspolicy.TLSA) string {
		return fmt.Sprintf("_%s._tcp.%s TLSA %d %d %d %s\n", port, host, r.Usage, r.Selector, r.MatchingType, hex.EncodeToString(r.Data))
	}
	zone := `@ SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@ NS ns.dane.test.
ns A 127.0.0.1
ok MX 10 mx-ok.dane.test.
mx-ok A 127.0.0.1
bad MX 10 mx-bad.dane.test.
mx-bad A 127.0.0.1
ta MX 10 mx-ta.dane.test.
mx-ta A 127.0.0.1
taname MX 10 mx-taname.dane.test.
mx-taname A 127.0.0.1
unusable MX 10 mx-unusable.dane.test.
mx-unusable A 127.0.0.1
bogus MX 10 mx-bogus.dane.test.
mx-bogus A 127.0.0.1
cname MX 10 mx-alias.dane.test.
mx-alias CNAME mx-target.dane.test.
mx-target A 127.0.0.1
cnameout MX 10 mx-out.dane.test.
mx-out CNAME mx.plain.test.
` + tlsa("mx-target", ee) + tlsa("mx-alias", wrong) + tlsa("mx-out", wrong) + tlsa("mx-bogus", ee) + tlsa("mx-ok", ee) + tlsa("mx-bad", wrong) + tlsa("mx-ta", ta) + tlsa("mx-taname", ta) + tlsa("mx-unusable", pkix)
	signed := testutil.SignZone(t, "dane.test.", zone)
	// Bogus: the signature of mx-bogus's TLSA records altered.
	signed.CorruptRRSIG(t, "_"+port+"._tcp.mx-bogus.dane.test.", "TLSA")
	ns := testutil.StartNSD(t, map[string]string{
		"dane.test.": signed.Text,
		"plain.test.": `@ SOA ns.plain.test. hostmaster.plain.test. 1 3600 600 86400 60
@ NS ns.plain.test.
ns A 127.0.0.1
@ MX 10 mx.plain.test.
mx A 127.0.0.1
` + tlsa("mx", ee),
	})
	ub := testutil.StartUnbound(t, map[string]string{"dane.test.": ns.Addr, "plain.test.": ns.Addr}, signed.Anchor)

	rec := &tlspolicy.Recorder{}
	pol := &tlspolicy.Policy{DNSSEC: &tlspolicy.Resolver{Addr: ub.Addr}, Recorder: rec}
	res := testutil.NewTestResolver(ub.Addr)
	for _, tc := range []struct {
		level   TLSLevel
		domain  string
		nexthop string // "" for the domain
		status  Status
		text    string            // in the log for Sent, in the result otherwise
		pmap    map[string]string // smtp_tls_policy_maps
	}{
		{"dane", "ok.dane.test", "", Sent, "Verified TLS connection established to mx-ok.dane.test[127.0.0.1]:" + port, nil},
		{"dane", "bad.dane.test", "", Deferred, "Server certificate not trusted", nil},
		{"dane", "ta.dane.test", "", Sent, "Verified TLS connection established to mx-ta.dane.test[127.0.0.1]:" + port, nil},
		{"dane", "taname.dane.test", "", Deferred, "Server certificate not verified: name mismatch", nil},
		{"dane", "unusable.dane.test", "", Sent, "Untrusted TLS connection established to mx-unusable.dane.test[127.0.0.1]:" + port, nil},
		{"dane", "bogus.dane.test", "", Deferred, "TLSA lookup error for mx-bogus.dane.test:" + port, nil},
		{"dane", "plain.test", "", Sent, "Untrusted TLS connection established to mx.plain.test[127.0.0.1]:" + port, nil},
		{"dane-only", "plain.test", "", Deferred, "No validated TLSA records for mx.plain.test:" + port, nil},
		{"dane-only", "ok.dane.test", "", Sent, "Verified TLS connection established to mx-ok.dane.test[127.0.0.1]:" + port, nil},
		{"dane", "cname.dane.test", "", Sent, "Verified TLS connection established to mx-alias.dane.test[127.0.0.1]:" + port, nil},
		{"dane-only", "cnameout.dane.test", "", Deferred, "No validated TLSA records for mx-out.dane.test:" + port, nil},
		{"dane", "cnameout.dane.test", "", Sent, "Untrusted TLS connection established to mx-out.dane.test[127.0.0.1]:" + port, nil},
		{"dane", "relay.test", "[mx-ok.dane.test]", Sent, "Verified TLS connection established to mx-ok.dane.test[127.0.0.1]:" + port, nil},
		{"dane", "relay.test", "[mx-bad.dane.test]", Deferred, "Server certificate not trusted", nil},
		{"dane-only", "relay.test", "[mx.plain.test]", Deferred, "No validated TLSA records for mx.plain.test:" + port, nil},
		// smtp_tls_policy_maps: DANE for the parent domain's entry at
		// level may.
		{"may", "bad.dane.test", "", Deferred, "Server certificate not trusted", map[string]string{".dane.test": "dane-only"}},
	} {
		t.Run(string(tc.level)+"-"+tc.domain+tc.nexthop, func(t *testing.T) {
			log, lb := newSMTPLogger()
			tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, Port: port, TLSLevel: tc.level, TLSPolicy: pol, Logger: log, DisableConnectionCache: true}
			if tc.pmap != nil {
				tr.TLSPolicyMap = func(_ context.Context, k string) (string, bool, error) {
					v, ok := tc.pmap[k]
					return v, ok, nil
				}
			}
			rcpt := "u-" + string(tc.level) + "@" + tc.domain
			nh := tc.nexthop
			if nh == "" {
				nh = tc.domain
			}
			rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, rcpt))
			if tc.status == Sent {
				wantSMTPStatus(t, rs[0], Sent, "", "queued as")
				if !strings.Contains(lb.String(), tc.text) {
					t.Errorf("log lacks %q:\n%s", tc.text, lb)
				}
				return
			}
			wantSMTPStatus(t, rs[0], tc.status, "4.7.5", tc.text)
			if strings.Contains(lb.String(), "plaintext") {
				t.Errorf("retried without TLS:\n%s", lb)
			}
		})
	}
	// What Postfix got: the delivered ones only.
	pf.WaitLog(t, "to=<u-dane-only@ok.dane.test>", 10*time.Second)
	b, _ := os.ReadFile(pf.MailLog)
	for _, d := range []string{"bad.dane.test", "taname.dane.test", "bogus.dane.test"} {
		if strings.Contains(string(b), "@"+d+">") {
			t.Errorf("Postfix received mail for %s:\n%s", d, b)
		}
	}
	if strings.Contains(string(b), "to=<u-dane-only@plain.test>") {
		t.Errorf("Postfix received mail for dane-only@plain.test:\n%s", b)
	}

	got := map[string]string{}
	for _, c := range rec.Peek().Policies {
		s := fmt.Sprintf("%s ok=%d fail=%d", c.Policy.Type, c.Success, c.Failure)
		for _, f := range c.Failures {
			s += fmt.Sprintf(" %s:%d", f.Result, f.Count)
		}
		got[c.Policy.Domain] += s + ";"
	}
	want := map[string]string{
		"ok.dane.test":       "tlsa ok=2 fail=0;",
		"bad.dane.test":      "tlsa ok=0 fail=2 validation-failure:2;",
		"ta.dane.test":       "tlsa ok=1 fail=0;",
		"taname.dane.test":   "tlsa ok=0 fail=1 certificate-host-mismatch:1;",
		"unusable.dane.test": "tlsa ok=1 fail=0;",
		"bogus.dane.test":    "tlsa ok=0 fail=1 dnssec-invalid:1;",
		"plain.test":         "no-policy-found ok=1 fail=0;tlsa ok=0 fail=1 dane-required:1;",
		"cname.dane.test":    "tlsa ok=1 fail=0;",
		"cnameout.dane.test": "tlsa ok=0 fail=1 dane-required:1;no-policy-found ok=1 fail=0;",
		"mx-ok.dane.test":    "tlsa ok=1 fail=0;",
		"mx-bad.dane.test":   "tlsa ok=0 fail=1 validation-failure:1;",
		"mx.plain.test":      "tlsa ok=0 fail=1 dane-required:1;",
	}
	for _, c := range rec.Peek().Policies {
		for _, f := range c.Failures {
			if f.Result == tlspolicy.ResultValidationFailure && (f.SendingMTAIP.String() != "127.0.0.1" || f.ReceivingHELO == "") {
				t.Errorf("%s: failure without sending-mta-ip or receiving-mx-helo: %+v", c.Policy.Domain, f.Failure)
			}
		}
	}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("TLS-RPT counts for %s: %q, want %q", d, got[d], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("TLS-RPT domains: %v", got)
	}
}
