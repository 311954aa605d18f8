package tlspolicy

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"time"
)

// DANE verification failures, as Postfix words them in its logs.
var (
	// ErrDANENoMatch: no usable TLSA record matches the certificate
	// chain the server presented.
	ErrDANENoMatch = PolicyError("Server certificate not trusted")
	// ErrDANEName: a DANE-TA(2) chain matched, but the certificate names
	// neither the MX host nor the nexthop domain (RFC 7672 3.2.2).
	ErrDANEName = PolicyError("Server certificate not verified: name mismatch")
	// ErrDANEChain: a DANE-TA(2) record matched, but the chain is not
	// valid now (expired, not yet valid, or broken).
	ErrDANEChain = PolicyError("Server certificate not trusted: chain to the DANE-TA trust anchor does not verify")
)

// PolicyError is a TLS policy failure in Postfix's words, which go to
// the log and the DSN as they are ("Server certificate not trusted").
type PolicyError string

func (e PolicyError) Error() string { return string(e) }

// DANEVerification is what VerifyDANE found.
type DANEVerification struct {
	// Record is the TLSA record that matched.
	Record TLSA
	// Depth is the position of the matching certificate in the chain
	// the server sent (0: the leaf).
	Depth int
}

// VerifyDANE verifies the server's certificate chain against the
// usable TLSA records of the MX host as RFC 7672 section 3.1 says:
//
//   - DANE-EE(3): the leaf certificate (selector 0) or its public key
//     (selector 1) matches. No name check and no expiry check
//     (RFC 7672 3.1.1): the DNSSEC-signed record is the trust.
//   - DANE-TA(2): a certificate the server sent matches; it is then the
//     only trust anchor of an X.509 path from the leaf, and the leaf
//     must name one of names (RFC 7672 3.2.2: the TLSA base domain,
//     that is the MX host, and the nexthop domain), checked as with
//     PKIX (wildcards in the first label only).
//
// A trust anchor published as a bare public key (DANE-TA(2) SPKI(1)
// Full(0)) need not be in the chain (RFC 7671 5.2.2): a certificate the
// server sent that the key signed is then the anchor's child, checked
// as above from there. now is the time for DANE-TA expiry checks.
func VerifyDANE(cs tls.ConnectionState, records []TLSA, names []string, now time.Time) (DANEVerification, error) {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return DANEVerification{}, ErrDANENoMatch
	}
	leaf := certs[0]
	for _, r := range records {
		if r.Usable() && r.Usage == DANEEE && r.Matches(leaf) {
			return DANEVerification{Record: r}, nil
		}
	}
	var lastErr error = ErrDANENoMatch
	for _, r := range records {
		if !r.Usable() || r.Usage != DANETA {
			continue
		}
		for depth, c := range certs {
			if !r.Matches(c) {
				continue
			}
			if err := verifyTAChain(certs, depth, names, now); err != nil {
				lastErr = err
				continue
			}
			return DANEVerification{Record: r, Depth: depth}, nil
		}
		if r.Selector != SelectorSPKI || r.MatchingType != MatchFull {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(r.Data)
		if err != nil {
			continue
		}
		anchor := &x509.Certificate{PublicKey: pub}
		for depth, c := range certs {
			if anchor.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
				continue
			}
			if depth > 0 && (!c.BasicConstraintsValid || !c.IsCA) {
				lastErr = ErrDANEChain
				continue
			}
			if err := verifyTAChain(certs, depth, names, now); err != nil {
				lastErr = err
				continue
			}
			return DANEVerification{Record: r, Depth: depth}, nil
		}
	}
	return DANEVerification{}, lastErr
}

// verifyTAChain verifies the leaf up to the trust anchor certs[ta],
// with the certificates in between as intermediates, and the leaf's
// names.
func verifyTAChain(certs []*x509.Certificate, ta int, names []string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(certs[ta])
	inter := x509.NewCertPool()
	for i := 1; i < ta; i++ {
		inter.AddCert(certs[i])
	}
	leaf := certs[0]
	if ta > 0 {
		opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		if _, err := leaf.Verify(opts); err != nil {
			return ErrDANEChain
		}
	} else if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		// A self-signed leaf published as DANE-TA: its own anchor.
		return ErrDANEChain
	}
	for _, n := range names {
		n = strings.TrimSuffix(n, ".")
		if n != "" && leaf.VerifyHostname(n) == nil {
			return nil
		}
	}
	return ErrDANEName
}

// UsableTLSA returns the usable records of rs (RFC 7672 2.2: when a
// validated TLSA RRset has none, the server is treated as if it had
// no TLSA records but TLS stays mandatory).
func UsableTLSA(rs []TLSA) []TLSA {
	var out []TLSA
	for _, r := range rs {
		if r.Usable() {
			out = append(out, r)
		}
	}
	return out
}
