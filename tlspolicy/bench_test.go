package tlspolicy

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func BenchmarkVerifyDANE(b *testing.B) {
	leaf, ca := testChain(b, "mx.example.com")
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, ca}}
	names := []string{"mx.example.com", "example.com"}
	now := time.Now()
	for _, bc := range []struct {
		name string
		r    TLSA
	}{
		{"EE-3-1-1", RecordFor(leaf, DANEEE, SelectorSPKI, MatchSHA256)},
		{"TA-2-0-1", RecordFor(ca, DANETA, SelectorCert, MatchSHA256)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			recs := []TLSA{bc.r}
			for b.Loop() {
				if _, err := VerifyDANE(cs, recs, names, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseSTSPolicy(b *testing.B) {
	p := []byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n")
	for b.Loop() {
		if _, err := ParseSTSPolicy(p); err != nil {
			b.Fatal(err)
		}
	}
}
