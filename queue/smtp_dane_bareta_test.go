package queue

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/tlspolicy"
)

// TestUnboundDANEBareTAKey: a real Postfix sends only its leaf
// certificate, issued by a CA whose public key the signed zone
// publishes as DANE-TA(2) SPKI(1) Full(0) (RFC 7671 5.2.2: the anchor
// need not be in the chain). Through the real nsd, ldns-signzone and
// unbound the mail is delivered ("Verified TLS"); another CA's key in
// the same form defers it and Postfix never gets it.
func TestUnboundDANEBareTAKey(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedDir(t)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bare TA test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mx.bareta.test"},
		DNSNames: []string{"mx.bareta.test", "mx2.bareta.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leafT, caT, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(leafKey)
	certFile, keyFile := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o644)
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`smtpd_tls_cert_file = %s
smtpd_tls_key_file = %s
smtpd_tls_security_level = may
default_transport = discard
relay_transport = discard
`, certFile, keyFile))
	port := smtpItoa(pf.SMTPPort)
	spki := func(k *ecdsa.PrivateKey) string {
		b, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(b)
	}
	zone := `@ SOA ns.bareta.test. hostmaster.bareta.test. 1 3600 600 86400 60
@ NS ns.bareta.test.
ns A 127.0.0.1
@ MX 10 mx.bareta.test.
mx A 127.0.0.1
other MX 10 mx2.bareta.test.
mx2 A 127.0.0.1
_` + port + `._tcp.mx TLSA 2 1 0 ` + spki(caKey) + `
_` + port + `._tcp.mx2 TLSA 2 1 0 ` + spki(otherKey) + "\n"
	signed := testutil.SignZone(t, "bareta.test.", zone)
	ns := testutil.StartNSD(t, map[string]string{"bareta.test.": signed.Text})
	ub := testutil.StartUnbound(t, map[string]string{"bareta.test.": ns.Addr}, signed.Anchor)
	pol := &tlspolicy.Policy{DNSSEC: &tlspolicy.Resolver{Addr: ub.Addr}}
	for _, tc := range []struct {
		domain string
		status Status
		text   string
	}{
		{"bareta.test", Sent, "Verified TLS connection established to mx.bareta.test[127.0.0.1]:" + port},
		{"other.bareta.test", Deferred, "Server certificate not trusted"},
	} {
		log, lb := newSMTPLogger()
		tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: testutil.NewTestResolver(ub.Addr), Port: port, TLSLevel: "dane-only", TLSPolicy: pol, Logger: log, DisableConnectionCache: true}
		rs := smtpDeliver(t, tr, newSMTPDelivery(tc.domain, smtpTestMessage, "u@"+tc.domain))
		if tc.status == Sent {
			wantSMTPStatus(t, rs[0], Sent, "", "queued as")
			if !strings.Contains(lb.String(), tc.text) {
				t.Errorf("%s: log lacks %q:\n%s", tc.domain, tc.text, lb)
			}
			continue
		}
		wantSMTPStatus(t, rs[0], tc.status, "4.7.5", tc.text)
	}
	pf.WaitLog(t, "to=<u@bareta.test>", 10*time.Second)
	if b, _ := os.ReadFile(pf.MailLog); strings.Contains(string(b), "to=<u@other.bareta.test>") {
		t.Errorf("Postfix received the mail under another CA's key:\n%s", b)
	}
}
