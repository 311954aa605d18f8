package msgauth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Signature verification for ARC (RFC 8617 uses DKIM's key records and
// algorithms, RFC 6376 section 3.6.1 and RFC 8463); go-msgauth keeps its
// key parsing unexported.

// errKeyTemp marks a key lookup that may succeed later (DNS trouble).
var errKeyTemp = errors.New("key lookup failed temporarily")

// minRSABits is RFC 8301's minimum for verifying.
const minRSABits = 1024

// lookupKey fetches and parses the public key at selector._domainkey.domain.
func lookupKey(ctx context.Context, res Resolver, lim Limits, selector, domain string) (crypto.PublicKey, error) {
	if selector == "" || domain == "" || strings.ContainsAny(selector+domain, " \t\r\n/\\") {
		return nil, errors.New("bad selector or domain")
	}
	name := selector + "._domainkey." + domain
	txts, err := boundedTXT(ctx, res, name, lim.MaxTXTRecords, lim.MaxTXTBytes)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && (de.IsTemporary || de.IsTimeout) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %s", errKeyTemp, name)
		}
		return nil, fmt.Errorf("no key at %s", name)
	}
	// Several records: RFC 6376 3.6.2.2 leaves it undefined; refused,
	// as go-msgauth and OpenDKIM do.
	switch len(txts) {
	case 0:
		return nil, fmt.Errorf("no key at %s", name)
	case 1:
		return parseKeyRecord(txts[0])
	default:
		return nil, fmt.Errorf("several key records at %s", name)
	}
}

// parseKeyRecord parses a DKIM key record (RFC 6376 section 3.6.1).
func parseKeyRecord(txt string) (crypto.PublicKey, error) {
	tags, err := parseTags(txt)
	if err != nil {
		return nil, errors.New("malformed key record")
	}
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		return nil, errors.New("key record version is not DKIM1")
	}
	if h, ok := tags["h"]; ok {
		found := false
		for _, a := range strings.Split(h, ":") {
			if strings.TrimSpace(a) == "sha256" {
				found = true
			}
		}
		if !found {
			return nil, errors.New("key does not allow sha256")
		}
	}
	if sv, ok := tags["s"]; ok {
		found := false
		for _, t := range strings.Split(sv, ":") {
			if t = strings.TrimSpace(t); t == "*" || t == "email" {
				found = true
			}
		}
		if !found {
			return nil, errors.New("key not for email (s=)")
		}
	}
	p := stripFWS(tags["p"])
	if p == "" {
		return nil, errors.New("key revoked")
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, errors.New("key is not base64")
	}
	switch k := strings.TrimSpace(tags["k"]); k {
	case "", "rsa":
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			// Some publish the PKCS #1 form.
			if rk, err2 := x509.ParsePKCS1PublicKey(der); err2 == nil {
				pub = rk
			} else {
				return nil, errors.New("malformed RSA key")
			}
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("k=rsa key is not RSA")
		}
		if rk.N.BitLen() < minRSABits {
			return nil, errors.New("RSA key shorter than 1024 bits")
		}
		return newRSAKey(rk), nil
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 key")
		}
		return ed25519.PublicKey(der), nil
	default:
		return nil, fmt.Errorf("unknown key type %q", k)
	}
}

// verifySig checks sig over the SHA-256 digest of the canonicalized
// header data with the algorithm a= names.
func verifySig(alg string, pub crypto.PublicKey, digest, sig []byte) error {
	switch alg {
	case "rsa-sha256":
		var err error
		switch k := pub.(type) {
		case *rsaKey:
			err = k.verifyPKCS1v15SHA256(digest, sig)
		case *rsa.PublicKey:
			err = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig)
		default:
			return errors.New("key type does not match a=")
		}
		if err != nil {
			return errors.New("signature did not verify")
		}
	case "ed25519-sha256":
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return errors.New("key type does not match a=")
		}
		if !ed25519.Verify(k, digest, sig) {
			return errors.New("signature did not verify")
		}
	default:
		return fmt.Errorf("unsupported algorithm %q", alg)
	}
	return nil
}

// signDigest signs a SHA-256 digest with key: PKCS #1 v1.5 for RSA, the
// digest itself as the message for Ed25519 (RFC 8463 section 3).
func signDigest(key crypto.Signer, digest []byte) (alg string, sig []byte, err error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		sig, err = key.Sign(rand.Reader, digest, crypto.SHA256)
		return "rsa-sha256", sig, err
	case ed25519.PublicKey:
		sig, err = key.Sign(rand.Reader, digest, crypto.Hash(0))
		return "ed25519-sha256", sig, err
	default:
		return "", nil, errors.New("unsupported key type")
	}
}
