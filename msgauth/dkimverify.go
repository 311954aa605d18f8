package msgauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
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
}

// VerifyDKIM verifies the DKIM-Signature fields of a message, at most
// Limits.MaxDKIMSignatures of them (the topmost, the most recently
// added), and returns one result per field in header order; fields past
// the limit are reported as "policy" and cost nothing. A message without
// signatures gives no results.
func (v *Verifier) VerifyDKIM(ctx context.Context, msg io.Reader) ([]DKIMResult, error) {
	lim := v.Limits.withDefaults()
	br := bufio.NewReader(msg)
	raw, fields, err := readHeader(br, lim.MaxHeaderBytes, lim.MaxHeaderFields)
	if err != nil {
		return nil, err
	}
	return v.verifyDKIM(ctx, lim, raw, fields, br)
}

func (v *Verifier) verifyDKIM(ctx context.Context, lim Limits, raw []byte, fields []field, body io.Reader) ([]DKIMResult, error) {
	var sigs []field
	for _, f := range fields {
		if strings.EqualFold(f.Name, "DKIM-Signature") {
			sigs = append(sigs, f)
		}
	}
	if len(sigs) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	res := resolverOrDefault(v.Resolver)
	opts := &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return boundedTXT(ctx, res, name, lim.MaxTXTRecords, lim.MaxTXTBytes)
		},
		MaxVerifications: lim.MaxDKIMSignatures,
	}
	var in io.Reader = io.MultiReader(bytes.NewReader(raw), &ctxReader{ctx: ctx, r: body})
	if !endsBlank(raw) {
		in = io.MultiReader(bytes.NewReader(raw), strings.NewReader("\r\n"))
	}
	verifs, err := dkim.VerifyWithOptions(in, opts)
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return nil, err
	}
	out := make([]DKIMResult, len(sigs))
	for i, f := range sigs {
		r := &out[i]
		tags, terr := parseTags(f.value())
		if terr == nil {
			r.Domain = strings.ToLower(stripFWS(tags["d"]))
			r.Selector = stripFWS(tags["s"])
			r.Algorithm = stripFWS(tags["a"])
			r.Identifier = stripFWS(tags["i"])
			if b := stripFWS(tags["b"]); len(b) > 12 {
				r.HeaderB = b[:12]
			} else {
				r.HeaderB = b
			}
		}
		if r.Identifier == "" && r.Domain != "" {
			r.Identifier = "@" + r.Domain
		}
		if i >= len(verifs) {
			r.Result, r.Reason = ResultPolicy, "not checked: too many signatures"
			continue
		}
		vr := verifs[i]
		switch {
		case vr.Err == nil:
			r.Result = ResultPass
		case dkim.IsTempFail(vr.Err):
			r.Result, r.Reason = ResultTempError, vr.Err.Error()
		case dkim.IsPermFail(vr.Err):
			r.Result, r.Reason = ResultPermError, vr.Err.Error()
		default:
			r.Result, r.Reason = ResultFail, vr.Err.Error()
		}
		if terr != nil && r.Result == ResultPass {
			// Our stricter tag parser refused what the library took.
			r.Result, r.Reason = ResultPermError, "malformed signature tags"
		}
		if v.Logger != nil {
			v.Logger.DebugContext(ctx, "dkim verify", "domain", r.Domain, "selector", r.Selector, "result", r.Result, "reason", r.Reason)
		}
	}
	return out, nil
}
