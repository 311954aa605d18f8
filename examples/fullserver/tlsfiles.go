package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/internal/atomicfile"
	"github.com/yubinmail/yubin/internal/selfsigned"
)

// certStore holds the current certificate; SIGHUP swaps in a new one and
// running sessions keep theirs.
type certStore struct {
	cur atomic.Pointer[tls.Certificate]
}

func (s *certStore) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cur.Load(), nil
}

// tlsConfig returns a server config that always presents the current
// certificate.
func (s *certStore) tlsConfig(minVersion uint16) *tls.Config {
	return &tls.Config{GetCertificate: s.get, MinVersion: minVersion}
}

// certFiles returns the certificate and key file names: Dovecot's
// "ssl_cert = <file" when set, else Postfix's smtpd_tls_cert_file.
func certFiles(c *config.Config) (cert, key string) {
	cert, key = c.FileOf("ssl_cert"), c.FileOf("ssl_key")
	if cert == "" {
		cert = c.Get("smtpd_tls_cert_file")
	}
	if key == "" {
		key = c.Get("smtpd_tls_key_file")
	}
	return cert, key
}

// usesDefaultCert reports whether the certificate settings are the
// embedded defaults, under which a missing certificate is made on first
// start; an administrator's own paths must exist.
func usesDefaultCert(c *config.Config) bool {
	for _, n := range []string{"ssl_cert", "ssl_key", "smtpd_tls_cert_file", "smtpd_tls_key_file"} {
		if c.IsSet(n) {
			return false
		}
	}
	return true
}

// loadCert reads the configured key pair. Inline PEM in ssl_cert/ssl_key
// (a value not in "<file" form) is accepted too.
func loadCert(c *config.Config) (*tls.Certificate, error) {
	certFile, keyFile := certFiles(c)
	var certPEM, keyPEM []byte
	var err error
	if c.IsSet("ssl_cert") && c.FileOf("ssl_cert") == "" {
		certPEM = []byte(c.Get("ssl_cert"))
	} else if certPEM, err = os.ReadFile(certFile); err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	if c.IsSet("ssl_key") && c.FileOf("ssl_key") == "" {
		keyPEM = []byte(c.Get("ssl_key"))
	} else if keyPEM, err = os.ReadFile(keyFile); err != nil {
		return nil, fmt.Errorf("TLS key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s / key %s: %v", certFile, keyFile, err)
	}
	return &cert, nil
}

// makeSelfSigned writes a self-signed certificate for host, localhost and
// 127.0.0.1 to certFile and keyFile (the key readable by its owner only).
func makeSelfSigned(certFile, keyFile, host string) error {
	certPEM, keyPEM, err := selfsigned.New(host, "yubin self-signed", 2*365*24*time.Hour)
	if err != nil {
		return err
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(keyFile, keyPEM, 0o600, atomicfile.NoOwner); err != nil {
		return err
	}
	return atomicfile.Write(certFile, certPEM, 0o644, atomicfile.NoOwner)
}

func tlsVersion(name string) uint16 {
	switch name {
	case "TLSv1":
		return tls.VersionTLS10
	case "TLSv1.1":
		return tls.VersionTLS11
	case "TLSv1.3":
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}
