package msgauth

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"

	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// DMARC dispositions (RFC 7489 section 6.3, p= and sp=).
const (
	DispositionNone       = "none"
	DispositionQuarantine = "quarantine"
	DispositionReject     = "reject"
)

// DMARCResult is the DMARC evaluation of a message (RFC 7489 section 6.6).
type DMARCResult struct {
	Result      string // pass, fail, none, temperror, permerror
	From        string // the RFC5322.From domain
	PolicyFrom  string // where the record was found (the From domain or its organizational domain)
	Policy      string // the applicable p= or sp= (none, quarantine, reject), "" without a record
	Disposition string // what the policy asks for this message: none, quarantine or reject
	SPFAligned  bool
	DKIMAligned bool
	Reason      string
	// ARCOverride is the trusted ARC sealer whose chain excused a
	// failure (Disposition is then none), "" otherwise.
	ARCOverride string
}

// OrganizationalDomain returns the organizational domain of a domain
// name (RFC 7489 section 3.2): the public suffix plus one label.
func OrganizationalDomain(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	od, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return od
}

// aligned reports whether two domains are aligned in the given mode
// (RFC 7489 section 3.1): equal for strict, the same organizational
// domain for relaxed.
func aligned(a, b string, mode dmarc.AlignmentMode) bool {
	a, b = strings.ToLower(strings.TrimSuffix(a, ".")), strings.ToLower(strings.TrimSuffix(b, "."))
	if a == "" || b == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return a == b
	}
	return OrganizationalDomain(a) == OrganizationalDomain(b)
}

// maxDMARCRecord bounds a DMARC record's length before parsing.
const maxDMARCRecord = 4096

// lookupDMARC finds the policy record for a From domain: at _dmarc.domain,
// else at _dmarc.<organizational domain> (RFC 7489 section 6.6.3).
func (v *Verifier) lookupDMARC(ctx context.Context, lim Limits, domain string) (rec *dmarc.Record, at string, err error) {
	if rec, at, err, ok := v.Results.getDMARC(domain); ok {
		return rec, at, err
	}
	rec, at, err = v.fetchDMARC(ctx, lim, domain)
	v.Results.putDMARC(domain, rec, at, err)
	return rec, at, err
}

func (v *Verifier) fetchDMARC(ctx context.Context, lim Limits, domain string) (rec *dmarc.Record, at string, err error) {
	res := resolverOrDefault(v.Resolver)
	try := func(d string) (*dmarc.Record, error) {
		return dmarc.LookupWithOptions(d, &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) {
			txts, err := boundedTXT(ctx, res, name, lim.MaxTXTRecords, lim.MaxTXTBytes)
			if err != nil {
				return nil, err
			}
			// Only "v=DMARC1" records count (section 6.6.3 step 3).
			var out []string
			for _, t := range txts {
				if len(t) <= maxDMARCRecord && strings.HasPrefix(strings.TrimSpace(t), "v=DMARC1") {
					out = append(out, strings.TrimSpace(t))
				}
			}
			if len(out) > 1 {
				// More than one record: as if none (step 4).
				return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
			}
			return out, nil
		}})
	}
	rec, err = try(domain)
	if errors.Is(err, dmarc.ErrNoPolicy) {
		if od := OrganizationalDomain(domain); od != domain {
			rec, err = try(od)
			return rec, od, err
		}
	}
	return rec, domain, err
}

// evaluateDMARC applies the From domain's DMARC policy given the SPF and
// DKIM results (RFC 7489 sections 3.1 and 6.6).
func (v *Verifier) evaluateDMARC(ctx context.Context, lim Limits, fields []field, spfRes SPFResult, dkimRes []DKIMResult) DMARCResult {
	var r DMARCResult
	doms, ok := fromDomains(fields)
	if !ok || len(doms) == 0 {
		r.Result, r.Reason = ResultNone, "no single From domain"
		return r
	}
	if len(doms) > 1 {
		// Several author domains: RFC 7489 6.6.1 leaves it to the
		// receiver; like OpenDMARC we judge none of them.
		r.Result, r.Reason = ResultNone, "several From domains"
		return r
	}
	r.From = doms[0]
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	rec, at, err := v.lookupDMARC(ctx, lim, r.From)
	r.PolicyFrom = at
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		r.Result, r.Disposition = ResultNone, DispositionNone
		return r
	case dmarc.IsTempFail(err):
		r.Result, r.Disposition, r.Reason = ResultTempError, DispositionNone, "DNS failure"
		return r
	case err != nil:
		r.Result, r.Disposition, r.Reason = ResultPermError, DispositionNone, reasonText(err)
		return r
	}
	r.Policy = string(rec.Policy)
	if at != r.From && rec.SubdomainPolicy != "" {
		r.Policy = string(rec.SubdomainPolicy)
	}
	if spfRes.Result == ResultPass { // the HELO domain for the null sender (section 4.1)
		r.SPFAligned = aligned(spfRes.Domain, r.From, rec.SPFAlignment)
	}
	for _, d := range dkimRes {
		if d.Result == ResultPass && aligned(d.Domain, r.From, rec.DKIMAlignment) {
			r.DKIMAligned = true
			break
		}
	}
	if r.SPFAligned || r.DKIMAligned {
		r.Result, r.Disposition = ResultPass, DispositionNone
		return r
	}
	r.Result = ResultFail
	r.Disposition = r.Policy
	if r.Disposition == "" {
		r.Disposition = DispositionNone
	}
	// pct= (section 6.6.4): outside the sample, one step milder.
	if rec.Percent != nil && *rec.Percent < 100 && rand.IntN(100) >= *rec.Percent {
		switch r.Disposition {
		case DispositionReject:
			r.Disposition = DispositionQuarantine
		case DispositionQuarantine:
			r.Disposition = DispositionNone
		}
		r.Reason = "sampled out by pct"
	}
	return r
}
