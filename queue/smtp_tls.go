package queue

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/internal/capool"
	"github.com/yubinmail/yubin/internal/smtpwire"
)

// TLSLevel is the outbound TLS policy, as Postfix's
// smtp_tls_security_level names it. "dane" is accepted and means TLSMay
// (there is no DNSSEC validation here, as with Postfix without a
// validating resolver); any other level ("fingerprint") defers the mail.
type TLSLevel string

const (
	// TLSNone never uses TLS.
	TLSNone TLSLevel = "none"
	// TLSMay uses STARTTLS when the server offers it, without
	// requiring a trusted certificate, and sends in plaintext when it is
	// not offered or the handshake fails (opportunistic TLS). The empty
	// TLSLevel means TLSMay.
	TLSMay TLSLevel = "may"
	// TLSEncrypt requires TLS but not a trusted certificate: mail waits
	// (is deferred) rather than go in plaintext.
	TLSEncrypt TLSLevel = "encrypt"
	// TLSVerify requires TLS and a certificate trusted by RootCAs that
	// names the MX host (smtp_tls_verify_cert_match = hostname).
	TLSVerify TLSLevel = "verify"
	// TLSSecure requires TLS and a certificate trusted by RootCAs that
	// names the nexthop domain or a host in it
	// (smtp_tls_secure_cert_match = nexthop, dot-nexthop): the MX names
	// from DNS are not trusted.
	TLSSecure TLSLevel = "secure"
)

func (l TLSLevel) mandatory() bool {
	return l == TLSEncrypt || l == TLSVerify || l == TLSSecure || l == tlsPolicyLevel
}

// LoadRootCAs builds the trust anchors of outbound TLS from Postfix's
// smtp_tls_CAfile (a PEM file of CA certificates) and smtp_tls_CApath (a
// directory of PEM files, such as /etc/ssl/certs). Either may be "". As
// with Postfix's default tls_append_default_CA = no, the system roots are
// not added; leave SMTPTransport.RootCAs nil to use them instead.
func LoadRootCAs(caFile, caPath string) (*x509.CertPool, error) {
	return capool.Load(caFile, caPath)
}

// tlsPeerTrust is what outbound TLS found out about the server.
type tlsPeerTrust struct {
	trusted bool // the chain verifies against RootCAs
	matched bool // and names what the level asks for
}

// checkTLSPeer verifies the server's certificate chain against roots and
// its names against the names the level matches.
func checkTLSPeer(cs tls.ConnectionState, roots *x509.CertPool, level TLSLevel, mxHost, nexthopHost string) tlsPeerTrust {
	var pt tlsPeerTrust
	if len(cs.PeerCertificates) == 0 {
		return pt
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return pt
	}
	pt.trusted = true
	switch level {
	case TLSSecure:
		if leaf.VerifyHostname(nexthopHost) == nil {
			pt.matched = true
			break
		}
		// dot-nexthop: any host in the nexthop domain.
		for _, n := range leaf.DNSNames {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			if strings.HasSuffix(n, "."+nexthopHost) {
				pt.matched = true
				break
			}
		}
	default:
		pt.matched = leaf.VerifyHostname(mxHost) == nil
	}
	return pt
}

// tlsSummary returns Postfix's log line for an established TLS session:
// "Untrusted TLS connection established to mx.example.jp[192.0.2.1]:25:
// TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)".
func tlsSummary(cs tls.ConnectionState, level TLSLevel, pt tlsPeerTrust, relay string) string {
	status := "Untrusted"
	switch {
	case len(cs.PeerCertificates) == 0:
		status = "Anonymous"
	case pt.trusted && pt.matched && (level == TLSVerify || level == TLSSecure):
		status = "Verified"
	case pt.trusted:
		status = "Trusted"
	}
	bits := smtpwire.CipherBits(cs.CipherSuite)
	return fmt.Sprintf("%s TLS connection established to %s: %s with cipher %s (%d/%d bits)",
		status, relay, smtpwire.TLSVersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), bits, bits)
}
