package smtpwire

import (
	"crypto/tls"
	"strings"
)

// TLSVersionName names a TLS version as OpenSSL, and so Postfix's logs
// and Received: fields, do ("TLSv1.3").
func TLSVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "TLS"
}

// CipherBits returns the symmetric key size of a cipher suite as OpenSSL
// reports it ("(128/128 bits)"), 0 when unknown.
func CipherBits(id uint16) int {
	name := tls.CipherSuiteName(id)
	switch {
	case strings.Contains(name, "AES_128"):
		return 128
	case strings.Contains(name, "AES_256"), strings.Contains(name, "CHACHA20"):
		return 256
	case strings.Contains(name, "3DES"):
		return 168
	case strings.Contains(name, "RC4"):
		return 128
	}
	return 0
}
