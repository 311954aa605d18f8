package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/selfsigned"
)

// TLSFixture is a self-signed certificate for 127.0.0.1, ::1 and
// localhost, in the forms servers, Go clients and external programs want.
type TLSFixture struct {
	Cert     tls.Certificate
	CertPEM  []byte
	KeyPEM   []byte
	CertFile string // PEM file, world-readable, for Dovecot/Postfix/curl
	KeyFile  string // PEM file, world-readable (test key only)
	Pool     *x509.CertPool
}

// ServerConfig returns a server-side TLS config presenting the certificate.
func (f *TLSFixture) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{f.Cert}, MinVersion: tls.VersionTLS12}
}

// ClientConfig returns a client-side TLS config that trusts only the
// fixture's certificate, for ServerName "127.0.0.1".
func (f *TLSFixture) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: f.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// NewTLS makes a fresh self-signed certificate and writes its PEM files
// into a directory that plain users can read.
func NewTLS(t testing.TB) *TLSFixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"yubin test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	return selfSigned(t, key, tmpl)
}

// selfSigned signs tmpl with key, as its own issuer, and writes the PEM
// files into a directory plain users can read.
func selfSigned(t testing.TB, key *ecdsa.PrivateKey, tmpl *x509.Certificate) *TLSFixture {
	t.Helper()
	certPEM, keyPEM, err := selfsigned.PEM(tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	f := &TLSFixture{CertPEM: certPEM, KeyPEM: keyPEM}
	if f.Cert, err = tls.X509KeyPair(f.CertPEM, f.KeyPEM); err != nil {
		t.Fatal(err)
	}
	f.Pool = x509.NewCertPool()
	f.Pool.AddCert(f.Cert.Leaf)
	dir := SharedDir(t)
	f.CertFile = filepath.Join(dir, "cert.pem")
	f.KeyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(f.CertFile, f.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.KeyFile, f.KeyPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
