package msgauth

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// applyARCOverride excuses a DMARC failure when the ARC chain passes and
// a set sealed by a trusted sealer recorded a DMARC pass for the same
// From domain (RFC 8617 section 7.2: a receiver may use the results of
// sealers it trusts). The newest such set is named.
func (v *Verifier) applyARCOverride(d *DMARCResult, arc ARCResult) {
	if d.Result != ResultFail || d.Disposition == DispositionNone || arc.Result != ResultPass || len(v.TrustedARCSealers) == 0 {
		return
	}
	for i := len(arc.Sets) - 1; i >= 0; i-- {
		s := arc.Sets[i]
		if !v.trustedSealer(s.Sealer) || !aarDMARCPass(s.AuthResults, d.From) {
			continue
		}
		d.Disposition = DispositionNone
		d.ARCOverride = s.Sealer
		d.Reason = "trusted ARC sealer " + s.Sealer
		return
	}
}

func (v *Verifier) trustedSealer(d string) bool {
	for _, t := range v.TrustedARCSealers {
		if d != "" && strings.EqualFold(strings.TrimSuffix(t, "."), d) {
			return true
		}
	}
	return false
}

// aarDMARCPass reports whether an ARC-Authentication-Results value
// records dmarc=pass for the From domain.
func aarDMARCPass(value, from string) bool {
	_, results, err := authres.Parse(value)
	if err != nil {
		return false
	}
	for _, r := range results {
		if dr, ok := r.(*authres.DMARCResult); ok && dr.Value == authres.ResultPass &&
			dr.From != "" && strings.EqualFold(strings.TrimSuffix(dr.From, "."), from) {
			return true
		}
	}
	return false
}
