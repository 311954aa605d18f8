package msgauth

import (
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

// valueViaAuthres is Results.Value as it was written on go-msgauth's
// authres.Format, the oracle for the direct formatter.
func valueViaAuthres(r *Results, authservID string) string {
	var res []authres.Result
	if len(r.DKIM) == 0 {
		res = append(res, &authres.GenericResult{Method: "dkim", Value: authres.ResultNone})
	}
	for _, d := range r.DKIM {
		res = append(res, &authres.GenericResult{Method: "dkim", Value: authres.ResultValue(d.Result), Params: map[string]string{
			"header.d": d.Domain, "header.s": d.Selector, "header.b": d.HeaderB, "reason": reasonParam(d.Reason),
		}})
	}
	if r.SPF.Result != "" {
		p := map[string]string{"reason": reasonParam(r.SPF.Reason)}
		if r.SPF.Identity == "helo" {
			p["smtp.helo"] = r.SPF.Domain
		} else {
			p["smtp.mailfrom"] = r.SPF.Sender
		}
		res = append(res, &authres.GenericResult{Method: "spf", Value: authres.ResultValue(r.SPF.Result), Params: p})
	}
	if r.ARC.Result != "" {
		p := map[string]string{"reason": reasonParam(r.ARC.Reason)}
		if r.ARC.Result == ResultPass {
			p["header.oldest-pass"] = strconv.Itoa(r.ARC.OldestPass)
			p["reason"] = ""
		}
		res = append(res, &authres.GenericResult{Method: "arc", Value: authres.ResultValue(r.ARC.Result), Params: p})
	}
	if r.DMARC.Result != "" {
		p := map[string]string{"header.from": r.DMARC.From, "reason": reasonParam(r.DMARC.Reason)}
		if r.DMARC.Policy != "" {
			p["policy.dmarc"] = r.DMARC.Policy
		}
		res = append(res, &authres.GenericResult{Method: "dmarc", Value: authres.ResultValue(r.DMARC.Result), Params: p})
	}
	v := authres.Format(authservID, res)
	v = strings.ReplaceAll(v, "; ", ";\r\n\t")
	return strings.TrimRight(v, " ")
}

// FuzzAuthResultsValueMatchesAuthres: the direct formatter writes what
// authres.Format wrote, for any field values (quoting, empty values,
// reasons with specials, Unicode).
func FuzzAuthResultsValueMatchesAuthres(f *testing.F) {
	f.Add("mx.example.jp", "pass", "example.test", "sel", "abcdefghijkl", "", "alice@example.test", "helo", "none", "", "pass", "reject", "", 2, 1)
	f.Add("mx", "fail", "ex ample", "s;1", "a/b=c", "body hash did not verify", "", "mailfrom", "pass", "chain; broken", "fail", "", `sampled "out"`, 0, 3)
	f.Add("m", "", "ü.test", "", "", "x(y)", "<a@b>", "", "", "", "", "", "", 1, 0)
	f.Fuzz(func(t *testing.T, id, dk, d, s, hb, reason, sender, ident, arc, arcReason, dmarc, policy, dmReason string, oldest, ndkim int) {
		r := &Results{
			SPF:   SPFResult{Result: dk, Identity: ident, Domain: d, Sender: sender, Reason: reason},
			ARC:   ARCResult{Result: arc, Reason: arcReason, OldestPass: oldest},
			DMARC: DMARCResult{Result: dmarc, From: d, Policy: policy, Reason: dmReason},
		}
		for i := 0; i < ndkim%4; i++ {
			r.DKIM = append(r.DKIM, DKIMResult{Result: dk, Domain: d, Selector: s, HeaderB: hb, Reason: reason})
		}
		if got, want := r.Value(id), valueViaAuthres(r, id); got != want {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
}
