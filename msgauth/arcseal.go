package msgauth

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// ARCSealer adds an ARC set (RFC 8617 section 5.1) to a message this
// host forwards: an ARC-Authentication-Results field carrying this
// host's authentication results, an ARC-Message-Signature over the
// message as forwarded and an ARC-Seal over the chain, so that the next
// receiver can trust what this host saw before forwarding changed the
// message. It signs relaxed/relaxed with one DKIM key, rsa-sha256 or
// ed25519-sha256 by the key's type. Its zero value with Key and
// AuthservID set is ready; it is safe for concurrent use.
type ARCSealer struct {
	Key        *Key
	AuthservID string
	// Headers lists the fields the ARC-Message-Signature signs when
	// present (DefaultSignedHeaders and DKIM-Signature).
	Headers []string
	Limits  Limits
	Logger  *slog.Logger
	// Now gives the t= time (time.Now).
	Now func() time.Time
}

// Seal reads the message (header and body) and returns the ARC set to
// prepend to it, ARC-Seal first, each field ending in CRLF. res are this
// host's results for the message (from [Verifier.Check]); its ARC result
// becomes the seal's cv=. Seal returns "" with a nil error where RFC
// 8617 says the chain must not grow: the newest ARC-Seal says cv=fail or
// the chain already has 50 sets. A chain whose fields cannot be
// numbered into sets (a set missing a field, a gap, a duplicate) is
// sealed with cv=fail and i= one above its highest instance, the seal
// covering only the new set (sections 5.1.1 and 5.1.2; dkimpy's
// arc_sign does the same). A message without a single From field gives
// ErrNoFrom.
func (s *ARCSealer) Seal(ctx context.Context, msg io.Reader, res *Results) (string, error) {
	cv, arValue := ResultNone, s.AuthservID+"; none"
	if res != nil {
		if res.ARC.Result != "" {
			cv = res.ARC.Result
		}
		arValue = res.Value(s.AuthservID)
	}
	return s.seal(ctx, msg, cv, arValue)
}

// seal is Seal with the chain status and the ARC-Authentication-Results
// value (authserv-id first) given.
func (s *ARCSealer) seal(ctx context.Context, msg io.Reader, cv, arValue string) (string, error) {
	if s.Key == nil || s.Key.Signer == nil {
		return "", errors.New("msgauth: ARC sealer without a key")
	}
	lim := s.Limits.withDefaults()
	br := bufio.NewReader(msg)
	fields, err := readFields(br, lim.MaxHeaderBytes, lim.MaxHeaderFields)
	if err != nil {
		return "", err
	}
	if _, ok := fromAddress(fields); !ok {
		return "", ErrNoFrom
	}
	sets, perr := parseARCSets(fields, arcMaxInstance, lim.MaxARCFieldBytes)
	inst := len(sets) + 1
	if perr != nil {
		// An unnumberable chain fails validation (section 5.2); the
		// next instance follows its highest i=.
		inst = maxARCInstance(fields) + 1
		if inst == 1 || inst > arcMaxInstance {
			s.log(ctx, "arc: not sealed: "+perr.Error())
			return "", nil
		}
		sets, cv = nil, ResultFail
	}
	switch {
	case perr == nil && len(sets) == 0 && cv != ResultNone:
		return "", fmt.Errorf("msgauth: ARC result %q for a message without ARC sets", cv)
	case perr == nil && len(sets) > 0 && cv == ResultNone:
		return "", errors.New("msgauth: message has ARC sets but no ARC result")
	case len(sets) > 0 && strings.EqualFold(stripFWS(sets[len(sets)-1].sealTags["cv"]), ResultFail):
		s.log(ctx, "arc: not sealed: the chain was already marked failed")
		return "", nil
	case len(sets) >= arcMaxInstance:
		s.log(ctx, "arc: not sealed: the chain has 50 sets")
		return "", nil
	case cv != ResultNone && cv != ResultPass && cv != ResultFail:
		return "", fmt.Errorf("msgauth: ARC result %q is not a chain validation status", cv)
	}
	body := newBodyHash(canonRelaxed)
	if err := copyBody(ctx, body, br); err != nil {
		return "", err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := strconv.FormatInt(now().Unix(), 10)
	d, sel := strings.ToLower(s.Key.Domain), s.Key.Selector
	i := strconv.Itoa(inst)

	aar := hdrAAR + ": i=" + i + "; " + arValue + "\r\n"

	names := s.signedNames(fields)
	ams := hdrAMS + ": i=" + i + "; a=" + algName(s.Key) + "; c=relaxed/relaxed; d=" + d + ";\r\n\ts=" + sel +
		"; t=" + t + ";\r\n\th=" + foldList(names) + ";\r\n\tbh=" + base64.StdEncoding.EncodeToString(body.digest()) + ";\r\n\tb="
	h := sha256.New()
	idx := fieldIndex(fields)
	for _, f := range selectFields(fields, idx, names) {
		io.WriteString(h, canonHeader(f.Raw, canonRelaxed))
	}
	io.WriteString(h, strings.TrimSuffix(canonHeader(ams, canonRelaxed), "\r\n"))
	_, sig, err := signDigest(s.Key.Signer, h.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("msgauth: ARC signing with %s._domainkey.%s: %w", sel, d, err)
	}
	ams += foldB(sig) + "\r\n"

	seal := hdrAS + ": i=" + i + "; a=" + algName(s.Key) + "; cv=" + cv + "; d=" + d + ";\r\n\ts=" + sel + "; t=" + t + ";\r\n\tb="
	h = sha256.New()
	if cv != ResultFail {
		// A failed chain's seal covers only its own set (section 5.1.2).
		for _, st := range sets {
			io.WriteString(h, canonHeader(st.aar.Raw, canonRelaxed))
			io.WriteString(h, canonHeader(st.ams.Raw, canonRelaxed))
			io.WriteString(h, canonHeader(st.s.Raw, canonRelaxed))
		}
	}
	io.WriteString(h, canonHeader(aar, canonRelaxed))
	io.WriteString(h, canonHeader(ams, canonRelaxed))
	io.WriteString(h, strings.TrimSuffix(canonHeader(seal, canonRelaxed), "\r\n"))
	_, sig, err = signDigest(s.Key.Signer, h.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("msgauth: ARC sealing with %s._domainkey.%s: %w", sel, d, err)
	}
	seal += foldB(sig) + "\r\n"
	s.log(ctx, "arc: sealed i="+i+" cv="+cv)
	return seal + ams + aar, nil
}

func (s *ARCSealer) log(ctx context.Context, msg string) {
	if s.Logger != nil {
		s.Logger.DebugContext(ctx, msg)
	}
}

// signedNames is the AMS h= list: each listed field as often as it occurs.
func (s *ARCSealer) signedNames(fields []field) []string {
	list := s.Headers
	if list == nil {
		list = append(append([]string(nil), DefaultSignedHeaders...), "DKIM-Signature")
	}
	count := map[string]int{}
	for _, f := range fields {
		count[strings.ToLower(f.Name)]++
	}
	var out []string
	seen := map[string]bool{}
	for _, h := range append([]string{"From"}, list...) {
		lh := strings.ToLower(h)
		if seen[lh] || isARCField(h) || strings.EqualFold(h, "Authentication-Results") {
			continue
		}
		seen[lh] = true
		for n := 0; n < count[lh] && len(out) < maxSignedNames; n++ {
			out = append(out, h)
		}
	}
	return out
}

func algName(k *Key) string {
	if _, ok := k.Signer.Public().(*rsa.PublicKey); ok {
		return "rsa-sha256"
	}
	return "ed25519-sha256"
}

// foldList joins names with ':' and folds the list every few names.
func foldList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(':')
			if i%6 == 0 {
				b.WriteString("\r\n\t  ")
			}
		}
		b.WriteString(n)
	}
	return b.String()
}

// foldB encodes a signature in base64, folded in lines of 72 characters.
func foldB(sig []byte) string {
	s := base64.StdEncoding.EncodeToString(sig)
	var b strings.Builder
	for len(s) > 72 {
		b.WriteString(s[:72])
		b.WriteString("\r\n\t  ")
		s = s[72:]
	}
	b.WriteString(s)
	return b.String()
}
