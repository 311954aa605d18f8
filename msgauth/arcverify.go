package msgauth

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"
)

// ARCResult is the validation of a message's ARC chain (RFC 8617
// section 5.2).
type ARCResult struct {
	// Result is the chain validation status: none (no ARC sets), pass
	// or fail.
	Result string
	// Sets are the chain's sets, Sets[0] being i=1; empty when the
	// fields do not form a chain.
	Sets []ARCSet
	// OldestPass is the lowest instance from which every newer
	// ARC-Message-Signature still validates (section 5.2 step 6): 1 when
	// the message is unchanged since the first hop; 0 unless Result is pass.
	OldestPass int
	Reason     string
}

// ARCSet is what one ARC set says: who sealed it and the
// authentication results it recorded.
type ARCSet struct {
	Instance int
	Sealer   string // the ARC-Seal's d=, lower case
	// AuthResults is the ARC-Authentication-Results value after "i=N;":
	// the sealer's authserv-id and results.
	AuthResults string
	CV          string // the ARC-Seal's cv=
}

// VerifyARC validates the ARC chain of a message.
func (v *Verifier) VerifyARC(ctx context.Context, msg io.Reader) (ARCResult, error) {
	lim := v.Limits.withDefaults()
	br := bufio.NewReader(msg)
	fields, err := readFields(br, lim.MaxHeaderBytes, lim.MaxHeaderFields)
	if err != nil {
		return ARCResult{}, err
	}
	ac := newARCCheck(fields, lim, &bodyHashes{})
	if w := ac.bodies.writer(); w != nil {
		if err := copyBody(ctx, w, br); err != nil {
			return ARCResult{}, err
		}
	}
	return v.finishARC(ctx, lim, ac), nil
}

// arcCheck is an ARC validation under way: the sets found in the header
// and the body hashes their newest signatures need, computed while the
// body streams past.
type arcCheck struct {
	fields []field
	sets   []arcSet
	err    error
	bodies *bodyHashes
	idx    map[string][]int
	canon  []*[3]string // relaxed forms of each set's fields, by relaxed()
}

// relaxed returns set j's AAR, AMS and AS in relaxed canonical form,
// computed once: each seal hashes every older set again.
func (ac *arcCheck) relaxed(j int) *[3]string {
	if ac.canon == nil {
		ac.canon = make([]*[3]string, len(ac.sets))
	}
	if ac.canon[j] == nil {
		s := &ac.sets[j]
		ac.canon[j] = &[3]string{canonHeader(s.aar.Raw, canonRelaxed), canonHeader(s.ams.Raw, canonRelaxed), canonHeader(s.s.Raw, canonRelaxed)}
	}
	return ac.canon[j]
}

func (ac *arcCheck) index() map[string][]int {
	if ac.idx == nil {
		ac.idx = fieldIndex(ac.fields)
	}
	return ac.idx
}

// bodyHash is one canonicalized SHA-256 body hash.
type bodyHash struct {
	canon *bodyCanon
	h     hash.Hash
	sum   []byte
}

func (b *bodyHash) Write(p []byte) (int, error) { return b.canon.Write(p) }

func (b *bodyHash) digest() []byte {
	if b.sum == nil {
		b.canon.Close()
		b.sum = b.h.Sum(nil)
	}
	return b.sum
}

func newBodyHash(canon string) *bodyHash {
	h := sha256.New()
	return &bodyHash{canon: newBodyCanon(h, canon), h: h}
}

// newARCCheck finds the ARC sets of a header and asks bodies for the
// body hashes their signatures need.
func newARCCheck(fields []field, lim Limits, bodies *bodyHashes) *arcCheck {
	ac := &arcCheck{fields: fields, bodies: bodies}
	ac.sets, ac.err = parseARCSets(fields, lim.MaxARCSets, lim.MaxARCFieldBytes)
	if ac.err != nil {
		return ac
	}
	for _, s := range ac.sets {
		if s.amsTags != nil {
			_, bc := splitCanon(s.amsTags["c"])
			bodies.want(bc)
		}
	}
	return ac
}

// bodyHashes are the canonicalized SHA-256 body hashes that the DKIM
// and ARC signatures of one message need, each computed once in a
// single pass over the body.
type bodyHashes struct {
	m map[string]*bodyHash // by body canonicalization
}

func (b *bodyHashes) want(canon string) {
	if canon != canonSimple && canon != canonRelaxed {
		return
	}
	if b.m == nil {
		b.m = map[string]*bodyHash{}
	}
	if b.m[canon] == nil {
		b.m[canon] = newBodyHash(canon)
	}
}

// digest is the hash of the body in the canonical form; nil if it was
// not wanted.
func (b *bodyHashes) digest(canon string) []byte {
	if h := b.m[canon]; h != nil {
		return h.digest()
	}
	return nil
}

// writer is where the body goes for hashing; nil when no hash is needed.
func (b *bodyHashes) writer() io.Writer {
	switch len(b.m) {
	case 0:
		return nil
	case 1:
		for _, h := range b.m {
			return h
		}
	}
	return io.MultiWriter(b.m[canonSimple], b.m[canonRelaxed])
}

// splitCanon parses c= into header and body canonicalization ("" when
// unknown); the default is simple/simple (RFC 6376 section 3.5).
func splitCanon(c string) (string, string) {
	c = stripFWS(c)
	if c == "" {
		return canonSimple, canonSimple
	}
	h, b, ok := strings.Cut(c, "/")
	if !ok {
		b = canonSimple
	}
	ok1 := h == canonSimple || h == canonRelaxed
	ok2 := b == canonSimple || b == canonRelaxed
	if !ok1 || !ok2 {
		return "", ""
	}
	return h, b
}

// finishARC completes the validation once the body has been hashed
// (RFC 8617 section 5.2).
func (v *Verifier) finishARC(ctx context.Context, lim Limits, ac *arcCheck) ARCResult {
	if ac.err == nil && len(ac.sets) == 0 {
		return ARCResult{Result: ResultNone}
	}
	r := ARCResult{Result: ResultFail}
	if ac.err != nil {
		r.Reason = ac.err.Error()
		return r
	}
	for _, s := range ac.sets {
		set := ARCSet{Instance: s.instance, AuthResults: s.aarValue}
		if s.sealTags != nil {
			set.Sealer = strings.ToLower(stripFWS(s.sealTags["d"]))
			set.CV = strings.ToLower(stripFWS(s.sealTags["cv"]))
		}
		r.Sets = append(r.Sets, set)
	}
	n := len(ac.sets)
	// Step 2: a chain a sealer already called failed stays failed.
	if r.Sets[n-1].CV == ResultFail {
		r.Reason = "chain marked failed at i=" + strconv.Itoa(n)
		return r
	}
	// Step 3: cv=none on the first set, pass on every other.
	for i, s := range r.Sets {
		want := ResultPass
		if i == 0 {
			want = ResultNone
		}
		if s.CV != want {
			r.Reason = "ARC-Seal i=" + strconv.Itoa(s.Instance) + " has cv=" + s.CV
			return r
		}
	}
	kc := v.newKeyCache(lim)
	// Step 4: the newest ARC-Message-Signature.
	if err := ac.verifyAMS(ctx, kc, &ac.sets[n-1]); err != nil {
		r.Reason = "ARC-Message-Signature i=" + strconv.Itoa(n) + ": " + err.Error()
		return r
	}
	// Step 6: every ARC-Seal, newest first.
	for i := n; i >= 1; i-- {
		if err := ac.verifySeal(ctx, kc, i); err != nil {
			r.Reason = "ARC-Seal i=" + strconv.Itoa(i) + ": " + err.Error()
			return r
		}
	}
	// Step 5: oldest-pass, from the newest set down.
	r.OldestPass = n
	for i := n - 1; i >= 1; i-- {
		if ac.verifyAMS(ctx, kc, &ac.sets[i-1]) != nil {
			break
		}
		r.OldestPass = i
	}
	r.Result = ResultPass
	return r
}

// keyCache remembers the keys fetched during one check, in front of the
// Verifier's KeyCache. Its DNS lookups end at deadline (lim.Timeout
// after it was made): the timer exists only when a lookup asks DNS.
type keyCache struct {
	res      Resolver
	lim      Limits
	keys     map[string]keyAnswer
	shared   *KeyCache
	deadline time.Time
}

type keyAnswer struct {
	key crypto.PublicKey
	err error
}

func (v *Verifier) newKeyCache(lim Limits) *keyCache {
	return &keyCache{res: resolverOrDefault(v.Resolver), lim: lim, keys: map[string]keyAnswer{}, shared: v.KeyCache, deadline: time.Now().Add(lim.Timeout)}
}

func (kc *keyCache) get(ctx context.Context, selector, domain string) (crypto.PublicKey, error) {
	name := strings.ToLower(selector + "._domainkey." + domain)
	if a, ok := kc.keys[name]; ok {
		return a.key, a.err
	}
	if k, err, ok := kc.shared.get(name); ok {
		kc.keys[name] = keyAnswer{k, err}
		return k, err
	}
	ctx, cancel := context.WithDeadline(ctx, kc.deadline)
	k, err := lookupKey(ctx, kc.res, kc.lim, selector, domain)
	cancel()
	kc.keys[name] = keyAnswer{k, err}
	if !errors.Is(err, errKeyTemp) {
		kc.shared.put(name, k, err)
	}
	return k, err
}

// verifyAMS verifies one ARC-Message-Signature (RFC 8617 section 4.1.2:
// a DKIM signature under another name, with i= the instance).
func (ac *arcCheck) verifyAMS(ctx context.Context, kc *keyCache, s *arcSet) error {
	t := s.amsTags
	if t == nil {
		return errTagSyntax
	}
	for _, k := range []string{"a", "b", "bh", "d", "h", "s"} {
		if _, ok := t[k]; !ok {
			return errors.New("missing " + k + "=")
		}
	}
	if _, ok := t["l"]; ok {
		return errors.New("l= is not supported")
	}
	if err := checkExpiry(t); err != nil {
		return err
	}
	hc, bc := splitCanon(t["c"])
	if hc == "" {
		return errors.New("unknown c=")
	}
	names := strings.Split(stripFWS(t["h"]), ":")
	if len(names) > maxSignedNames {
		return errors.New("h= lists too many fields")
	}
	hasFrom := false
	for _, h := range names {
		switch {
		case strings.EqualFold(h, "from"):
			hasFrom = true
		case strings.EqualFold(h, hdrAS):
			return errors.New("h= lists ARC-Seal")
		}
	}
	if !hasFrom {
		return errors.New("h= does not list From")
	}
	bh, err := base64.StdEncoding.DecodeString(stripFWS(t["bh"]))
	if err != nil {
		return errors.New("malformed bh=")
	}
	if d := ac.bodies.digest(bc); d == nil || !bytes.Equal(d, bh) {
		return errors.New("body hash did not verify")
	}
	h := sha256.New()
	for _, f := range selectFields(ac.fields, ac.index(), names) {
		io.WriteString(h, canonHeader(f.Raw, hc))
	}
	io.WriteString(h, strings.TrimSuffix(canonHeader(withoutB(s.ams.Raw), hc), "\r\n"))
	return verifyTagged(ctx, kc, t, h.Sum(nil))
}

// verifySeal verifies the ARC-Seal of instance i over sets 1..i
// (RFC 8617 section 5.1.1), relaxed header canonicalization.
func (ac *arcCheck) verifySeal(ctx context.Context, kc *keyCache, i int) error {
	s := &ac.sets[i-1]
	t := s.sealTags
	if t == nil {
		return errTagSyntax
	}
	for _, k := range []string{"a", "b", "cv", "d", "s"} {
		if _, ok := t[k]; !ok {
			return errors.New("missing " + k + "=")
		}
	}
	if _, ok := t["h"]; ok {
		return errors.New("h= in ARC-Seal")
	}
	h := sha256.New()
	for j := 0; j < i; j++ {
		c := ac.relaxed(j)
		io.WriteString(h, c[0])
		io.WriteString(h, c[1])
		if j < i-1 {
			io.WriteString(h, c[2])
		}
	}
	io.WriteString(h, strings.TrimSuffix(canonHeader(withoutB(s.s.Raw), canonRelaxed), "\r\n"))
	return verifyTagged(ctx, kc, t, h.Sum(nil))
}

// verifyTagged checks b= over digest with the key named by s= and d=.
func verifyTagged(ctx context.Context, kc *keyCache, t map[string]string, digest []byte) error {
	sig, err := base64.StdEncoding.DecodeString(stripFWS(t["b"]))
	if err != nil || len(sig) == 0 {
		return errors.New("malformed b=")
	}
	key, err := kc.get(ctx, stripFWS(t["s"]), strings.ToLower(stripFWS(t["d"])))
	if err != nil {
		return err
	}
	return verifySig(stripFWS(t["a"]), key, digest, sig)
}

// checkExpiry fails a signature whose x= is past.
func checkExpiry(t map[string]string) error {
	x, ok := t["x"]
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(stripFWS(x), 10, 64)
	if err != nil {
		return errors.New("malformed x=")
	}
	if time.Now().Unix() > n {
		return errors.New("signature expired")
	}
	return nil
}

// maxSignedNames bounds an h= list: more names than this fail the
// signature, so that one field costs bounded work.
const maxSignedNames = 256

// fieldIndex maps lower-case field names to their positions in the
// header. The keys are cut from one string: one allocation, not one per
// field name that has capitals.
func fieldIndex(fields []field) map[string][]int {
	idx := make(map[string][]int, len(fields))
	b := make([]byte, 0, 16*len(fields))
	ends := make([]int, len(fields))
	for i, f := range fields {
		b = appendLower(b, f.Name)
		ends[i] = len(b)
	}
	all, start := string(b), 0
	for i, end := range ends {
		n := all[start:end]
		idx[n] = append(idx[n], i)
		start = end
	}
	return idx
}

// selectFields picks the fields h= names, each occurrence of a name from
// the bottom of the header up (RFC 6376 section 5.4.2); a name with no
// occurrence left contributes nothing.
func selectFields(fields []field, idx map[string][]int, names []string) []field {
	// How many occurrences of a name were taken, by its positions in
	// idx (the same slice for every spelling of the name).
	type taken struct {
		pos *int
		n   int
	}
	var usedBuf [16]taken
	used := usedBuf[:0]
	out := make([]field, 0, len(names))
	var key [64]byte
	for _, n := range names {
		pos := idx[string(appendLower(key[:0], n))] // no allocation for the key up to 64 bytes
		if len(pos) == 0 {
			continue
		}
		u := -1
		for i := range used {
			if used[i].pos == &pos[0] {
				u = i
				break
			}
		}
		if u < 0 {
			used = append(used, taken{pos: &pos[0]})
			u = len(used) - 1
		}
		if k := used[u].n; k < len(pos) {
			out = append(out, fields[pos[len(pos)-1-k]])
		}
		used[u].n++
	}
	return out
}

// appendLower appends s in lower case to dst, as strings.ToLower
// would, without an allocation of its own when s is ASCII.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(dst, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
