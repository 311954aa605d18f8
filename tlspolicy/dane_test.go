package tlspolicy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

// testChain makes a CA and a leaf it issues for names, valid for a day
// from an hour ago.
func testChain(t testing.TB, names ...string) (leaf, ca *x509.Certificate) {
	t.Helper()
	mk := func(tmpl, parent *x509.Certificate, pub, signer any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	ca = mk(caT, caT, &caKey.PublicKey, caKey)
	leafT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leaf = mk(leafT, ca, &leafKey.PublicKey, caKey)
	return leaf, ca
}

func TestVerifyDANE(t *testing.T) {
	leaf, ca := testChain(t, "mx.example.com")
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, ca}}
	now := time.Now()
	later := now.Add(48 * time.Hour) // both expired
	names := []string{"mx.example.com", "example.com"}
	ee := RecordFor(leaf, DANEEE, SelectorSPKI, MatchSHA256)
	eeFull := RecordFor(leaf, DANEEE, SelectorCert, MatchFull)
	ta := RecordFor(ca, DANETA, SelectorCert, MatchSHA512)
	taKey := RecordFor(ca, DANETA, SelectorSPKI, MatchSHA256)
	pkixEE := RecordFor(leaf, PKIXEE, SelectorSPKI, MatchSHA256)
	other, _ := testChain(t, "other.example")
	wrong := RecordFor(other, DANEEE, SelectorSPKI, MatchSHA256)
	for _, tc := range []struct {
		name  string
		recs  []TLSA
		names []string
		now   time.Time
		err   error
		depth int
	}{
		{"EE", []TLSA{wrong, ee}, names, now, nil, 0},
		{"EE full cert", []TLSA{eeFull}, names, now, nil, 0},
		{"EE ignores expiry and names (RFC 7672 3.1.1)", []TLSA{ee}, []string{"x.example"}, later, nil, 0},
		{"TA", []TLSA{ta}, names, now, nil, 1},
		{"TA by key", []TLSA{taKey}, names, now, nil, 1},
		{"TA nexthop name", []TLSA{ta}, []string{"mx2.example.com", "mx.example.com"}, now, nil, 1},
		{"TA name mismatch", []TLSA{ta}, []string{"mx.example.org", "example.org"}, now, ErrDANEName, 0},
		{"TA expired", []TLSA{ta}, names, later, ErrDANEChain, 0},
		{"no match", []TLSA{wrong}, names, now, ErrDANENoMatch, 0},
		{"PKIX-EE unusable", []TLSA{pkixEE}, names, now, ErrDANENoMatch, 0},
		{"none", nil, names, now, ErrDANENoMatch, 0},
	} {
		v, err := VerifyDANE(cs, tc.recs, tc.names, tc.now)
		if !errors.Is(err, tc.err) || err == nil && v.Depth != tc.depth {
			t.Errorf("%s: depth %d, %v; want depth %d, %v", tc.name, v.Depth, err, tc.depth, tc.err)
		}
	}
	// The trust anchor must be in the chain the server sent: a leaf
	// alone does not chain to it.
	if _, err := VerifyDANE(tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, []TLSA{ta}, names, now); err == nil {
		t.Error("TA not sent by the server: verified")
	}
	if _, err := VerifyDANE(tls.ConnectionState{}, []TLSA{ee}, names, now); err == nil {
		t.Error("no certificate: verified")
	}
	// A bare-key anchor (2 1 0) need not be sent (RFC 7671 5.2.2): the
	// leaf alone, signed by it, verifies; names and expiry still count,
	// and another key does not match.
	alone := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
	bare := RecordFor(ca, DANETA, SelectorSPKI, MatchFull)
	otherCA := RecordFor(other, DANETA, SelectorSPKI, MatchFull)
	for _, tc := range []struct {
		name  string
		rec   TLSA
		names []string
		now   time.Time
		err   error
	}{
		{"bare TA key, anchor not sent", bare, names, now, nil},
		{"bare TA key, name mismatch", bare, []string{"mx.example.org"}, now, ErrDANEName},
		{"bare TA key, expired", bare, names, later, ErrDANEChain},
		{"bare key of another", otherCA, names, now, ErrDANENoMatch},
	} {
		if _, err := VerifyDANE(alone, []TLSA{tc.rec}, tc.names, tc.now); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}
