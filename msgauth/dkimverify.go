package msgauth

import (
	"bufio"
	"context"
	"io"
	"log/slog"
)

// DKIM results (RFC 8601 section 2.7.1).
const (
	ResultNone      = "none"
	ResultPass      = "pass"
	ResultFail      = "fail"
	ResultNeutral   = "neutral"
	ResultSoftFail  = "softfail"
	ResultPolicy    = "policy"
	ResultTempError = "temperror"
	ResultPermError = "permerror"
)

// DKIMResult is the outcome of verifying one DKIM-Signature field.
type DKIMResult struct {
	Result     string // pass, fail, permerror, temperror, or policy (not checked: over Limits.MaxDKIMSignatures)
	Domain     string // d=
	Selector   string // s=
	Identifier string // i= (or "@" + d=)
	Algorithm  string // a=
	HeaderB    string // the first 12 characters of b=, for header.b
	Reason     string // why it did not pass, for logs and the Authentication-Results comment
}

// Verifier checks DKIM signatures. Its zero value uses the system
// resolver and default limits; it is safe for concurrent use.
type Verifier struct {
	Resolver Resolver
	Limits   Limits
	Logger   *slog.Logger
	// TrustedARCSealers are the ARC sealers (ARC-Seal d= domains)
	// whose word overrides a DMARC failure: when the ARC chain passes
	// and a set sealed by one of them recorded dmarc=pass for the From
	// domain, the failure's disposition becomes none (RFC 7489 section
	// 7.2's trusted_forwarder override). Empty, the default as in
	// OpenDMARC: ARC is validated and reported, and overrides nothing.
	TrustedARCSealers []string
	// KeyCache, when set, keeps parsed public keys between messages.
	KeyCache *KeyCache
	// Results, when set, keeps SPF results and DMARC records between
	// messages.
	Results *ResultCache
}

// VerifyDKIM verifies the DKIM-Signature fields of a message, at most
// Limits.MaxDKIMSignatures of them (the topmost, the most recently
// added), and returns one result per field in header order; fields past
// the limit are reported as "policy" and cost nothing. A message without
// signatures gives no results.
func (v *Verifier) VerifyDKIM(ctx context.Context, msg io.Reader) ([]DKIMResult, error) {
	lim := v.Limits.withDefaults()
	br := bufio.NewReader(msg)
	fields, err := readFields(br, lim.MaxHeaderBytes, lim.MaxHeaderFields)
	if err != nil {
		return nil, err
	}
	return v.verifyDKIM(ctx, lim, fields, br)
}

func (v *Verifier) verifyDKIM(ctx context.Context, lim Limits, fields []field, body *bufio.Reader) ([]DKIMResult, error) {
	bodies := &bodyHashes{}
	out, sigs := prepareDKIM(lim, fields, bodies)
	if len(sigs) == 0 {
		return out, nil
	}
	if err := copyBody(ctx, bodies.writer(), body); err != nil {
		return nil, err
	}
	finishDKIM(ctx, v.newKeyCache(lim), fields, fieldIndex(fields), bodies, sigs)
	v.logDKIM(ctx, out)
	return out, nil
}

func (v *Verifier) logDKIM(ctx context.Context, out []DKIMResult) {
	if v.Logger == nil {
		return
	}
	for _, r := range out {
		v.Logger.DebugContext(ctx, "dkim verify", "domain", r.Domain, "selector", r.Selector, "result", r.Result, "reason", r.Reason)
	}
}
