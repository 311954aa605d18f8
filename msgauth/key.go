package msgauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Key algorithms for [GenerateKey].
const (
	AlgRSA     = "rsa"     // RSA, 2048 bits (RFC 8301 requires at least 1024, recommends 2048)
	AlgEd25519 = "ed25519" // Ed25519 (RFC 8463)
)

// maxKeyFile bounds a private key file read by [LoadPrivateKey].
const maxKeyFile = 64 << 10

// Key is one DKIM signing key: the signing domain (d=), the selector
// (s=) under whose name its public half is published, and the private key.
type Key struct {
	Domain   string
	Selector string
	Signer   crypto.Signer
}

// ParsePrivateKey parses a PEM private key as opendkim-genkey, openssl
// and [GenerateKey] write them: "RSA PRIVATE KEY" (PKCS #1) or
// "PRIVATE KEY" (PKCS #8, RSA or Ed25519). RSA keys shorter than 1024
// bits are refused (RFC 8301).
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		// OpenDKIM also accepts an Ed25519 key as the bare base64 of
		// its 32-byte seed.
		if seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data))); err == nil && len(seed) == ed25519.SeedSize {
			return ed25519.NewKeyFromSeed(seed), nil
		}
		return nil, errors.New("msgauth: no PEM private key found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("msgauth: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("msgauth: parsing private key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, fmt.Errorf("msgauth: RSA key of %d bits is too short (RFC 8301)", k.N.BitLen())
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("msgauth: unsupported private key type %T", key)
	}
}

// LoadPrivateKey reads and parses a private key file (see [ParsePrivateKey]).
func LoadPrivateKey(path string) (crypto.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxKeyFile+1)
	n, _ := readFull(f, buf)
	if n > maxKeyFile {
		return nil, fmt.Errorf("msgauth: %s: key file larger than %d bytes", path, maxKeyFile)
	}
	k, err := ParsePrivateKey(buf[:n])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// GenerateKey makes a new signing key of algorithm alg ([AlgRSA],
// 2048 bits, or [AlgEd25519]) and returns it with its PKCS #8 PEM
// encoding, to be stored readable only by the mail server.
func GenerateKey(alg string) (crypto.Signer, []byte, error) {
	var k crypto.Signer
	switch alg {
	case AlgRSA:
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		k = rk
	case AlgEd25519:
		_, ek, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		k = ek
	default:
		return nil, nil, fmt.Errorf("msgauth: unknown key algorithm %q", alg)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// TXTRecord returns the DKIM key record (RFC 6376 section 3.6.1) that
// publishes pub at selector._domainkey.domain: "v=DKIM1; k=rsa; p=..."
// with the SubjectPublicKeyInfo of an RSA key, or "v=DKIM1; k=ed25519;
// p=..." with the 32 raw bytes of an Ed25519 key (RFC 8463).
func TXTRecord(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(p), nil
	default:
		return "", fmt.Errorf("msgauth: unsupported public key type %T", pub)
	}
}

// ZoneRecord formats the TXT record of [TXTRecord] as a zone-file line for
// selector._domainkey.domain., split into strings of at most 255 bytes.
func ZoneRecord(domain, selector string, pub crypto.PublicKey) (string, error) {
	txt, err := TXTRecord(pub)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s._domainkey.%s.\tIN\tTXT\t%s", selector, strings.TrimSuffix(domain, "."), quoteTXT(txt)), nil
}

// quoteTXT splits s into quoted character-strings of at most 255 bytes.
func quoteTXT(s string) string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	parts = append(parts, `"`+s+`"`)
	if len(parts) == 1 {
		return parts[0]
	}
	return "( " + strings.Join(parts, "\n\t\t") + " )"
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
