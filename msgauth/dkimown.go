package msgauth

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DKIM verification (RFC 6376 section 6) on msgauth's own
// canonicalization, the same rules and verdicts as go-msgauth's
// dkim.Verify (sha1 and l= refused as RFC 8301 and go-msgauth do) but
// with every signature's body hash and the ARC chain's computed in one
// pass over the body, and parsed keys reused through a KeyCache: the
// library re-parsed the key and canonicalized the body once per
// signature, a quarter of the inbound check's CPU.

// dkimSig is one DKIM-Signature field being verified.
type dkimSig struct {
	f      field
	tags   map[string]string
	res    *DKIMResult
	hc, bc string // canonicalizations
	names  []string
	bh, b  []byte
	alg    string // a=
	keyAlg string // rsa or ed25519
}

// dkimErr sets a result and its reason.
func (s *dkimSig) fail(result, reason string) {
	s.res.Result, s.res.Reason = result, reason
}

// prepareDKIM parses the DKIM-Signature fields (at most
// lim.MaxDKIMSignatures of them are checked), sets the results decided
// from the field alone, and asks bodies for the body hashes the others need.
func prepareDKIM(lim Limits, fields []field, bodies *bodyHashes) ([]DKIMResult, []*dkimSig) {
	var out []DKIMResult
	var raws []field
	for _, f := range fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			raws = append(raws, f)
		}
	}
	if len(raws) == 0 {
		return nil, nil
	}
	out = make([]DKIMResult, len(raws))
	var sigs []*dkimSig
	for i, f := range raws {
		r := &out[i]
		tags, terr := parseTags(f.value())
		if terr == nil {
			if b, ok := tags["b"]; ok {
				tags["b"] = stripFWS(b) // once, for HeaderB and the decoding
			}
			r.Domain = strings.ToLower(stripFWS(tags["d"]))
			r.Selector = stripFWS(tags["s"])
			r.Algorithm = stripFWS(tags["a"])
			r.Identifier = stripFWS(tags["i"])
			if b := tags["b"]; len(b) > 12 {
				r.HeaderB = b[:12]
			} else {
				r.HeaderB = b
			}
		}
		if r.Identifier == "" && r.Domain != "" {
			r.Identifier = "@" + r.Domain
		}
		if i >= lim.MaxDKIMSignatures {
			r.Result, r.Reason = ResultPolicy, "not checked: too many signatures"
			continue
		}
		s := &dkimSig{f: f, tags: tags, res: r}
		if terr != nil {
			s.fail(ResultPermError, "malformed signature tags")
			continue
		}
		if !s.check() {
			continue
		}
		bodies.want(s.bc)
		sigs = append(sigs, s)
	}
	return out, sigs
}

// check applies the rules that need only the field (RFC 6376 section
// 6.1.1), in go-msgauth's order; false when the result is decided.
func (s *dkimSig) check() bool {
	t := s.tags
	if stripFWS(t["v"]) != "1" {
		s.fail(ResultPermError, "incompatible signature version")
		return false
	}
	for _, k := range []string{"a", "b", "bh", "d", "h", "s"} {
		if _, ok := t[k]; !ok {
			s.fail(ResultPermError, "signature missing required tag")
			return false
		}
	}
	d := strings.ToLower(stripFWS(t["d"]))
	if i, ok := t["i"]; ok {
		id := strings.ToLower(stripFWS(i))
		if !strings.HasSuffix(id, "@"+d) && !strings.HasSuffix(id, "."+d) {
			s.fail(ResultPermError, "domain mismatch")
			return false
		}
	}
	s.names = strings.Split(stripFWS(t["h"]), ":")
	hasFrom := false
	for _, n := range s.names {
		if strings.EqualFold(n, "from") {
			hasFrom = true
		}
	}
	if !hasFrom {
		s.fail(ResultPermError, "From field not signed")
		return false
	}
	if len(s.names) > maxSignedNames {
		s.fail(ResultPermError, "h= lists too many fields")
		return false
	}
	if ts, ok := t["t"]; ok {
		if _, err := strconv.ParseInt(stripFWS(ts), 10, 64); err != nil {
			s.fail(ResultPermError, "malformed time")
			return false
		}
	}
	if xs, ok := t["x"]; ok {
		x, err := strconv.ParseInt(stripFWS(xs), 10, 64)
		if err != nil {
			s.fail(ResultPermError, "malformed expiration time")
			return false
		}
		if time.Now().After(time.Unix(x, 0)) {
			s.fail(ResultPermError, "signature has expired")
			return false
		}
	}
	if q, ok := t["q"]; ok {
		found := false
		for _, m := range strings.Split(stripFWS(q), ":") {
			if m == "dns/txt" {
				found = true
			}
		}
		if !found {
			s.fail(ResultPermError, "unsupported public key query method")
			return false
		}
	}
	s.alg = stripFWS(t["a"])
	keyAlg, hashAlg, ok := strings.Cut(s.alg, "-")
	switch {
	case !ok:
		s.fail(ResultPermError, "malformed algorithm name")
		return false
	case hashAlg == "sha1":
		// RFC 8301 section 3.1: rsa-sha1 must not be used for verifying.
		s.fail(ResultPermError, "hash algorithm too weak: sha1")
		return false
	case hashAlg != "sha256":
		s.fail(ResultPermError, "unsupported hash algorithm")
		return false
	}
	s.keyAlg = keyAlg
	s.hc, s.bc = splitCanon(t["c"])
	if s.hc == "" {
		s.fail(ResultPermError, "unsupported canonicalization algorithm")
		return false
	}
	if _, ok := t["l"]; ok {
		// l= leaves part of the body unsigned.
		s.fail(ResultFail, "message contains an insecure body length tag")
		return false
	}
	var err error
	if s.bh, err = base64.StdEncoding.DecodeString(stripFWS(t["bh"])); err != nil {
		s.fail(ResultPermError, "malformed body hash")
		return false
	}
	if s.b, err = base64.StdEncoding.DecodeString(stripFWS(t["b"])); err != nil {
		s.fail(ResultPermError, "malformed signature")
		return false
	}
	return true
}

// finishDKIM completes the signatures prepared once the body is hashed:
// key, body hash, header hash and signature.
func finishDKIM(ctx context.Context, kc *keyCache, fields []field, idx map[string][]int, bodies *bodyHashes, sigs []*dkimSig) {
	buf := make([]byte, 0, 4096) // the canonical header fields of one signature
	for _, s := range sigs {
		key, err := kc.get(ctx, s.res.Selector, s.res.Domain)
		switch {
		case errors.Is(err, errKeyTemp):
			s.fail(ResultTempError, "key unavailable: "+err.Error())
			continue
		case err != nil:
			s.fail(ResultPermError, "no key for signature: "+err.Error())
			continue
		}
		switch key.(type) {
		case *rsaKey:
			if s.keyAlg != "rsa" {
				s.fail(ResultPermError, "inappropriate key algorithm")
				continue
			}
		case ed25519.PublicKey:
			if s.keyAlg != "ed25519" {
				s.fail(ResultPermError, "inappropriate key algorithm")
				continue
			}
		}
		if subtle.ConstantTimeCompare(bodies.digest(s.bc), s.bh) != 1 {
			s.fail(ResultFail, "body hash did not verify")
			continue
		}
		buf = buf[:0]
		for _, f := range selectFields(fields, idx, s.names) {
			buf = appendCanonHeader(buf, f.Raw, s.hc)
		}
		buf = appendCanonHeader(buf, withoutB(s.f.Raw), s.hc)
		digest := sha256.Sum256(buf[:len(buf)-2]) // the signature field without its CRLF
		if err := verifySig(s.alg, key, digest[:], s.b); err != nil {
			s.fail(ResultFail, "signature did not verify")
			continue
		}
		s.res.Result = ResultPass
	}
}
