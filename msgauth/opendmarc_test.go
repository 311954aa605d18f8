package msgauth

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// dmarcCase is one message's From domain and the DKIM and SPF results
// that reached DMARC evaluation.
type dmarcCase struct {
	from string
	dkim []DKIMResult
	spf  SPFResult
}

// TestOpenDMARCVerdicts compares yubin's DMARC evaluation (record
// discovery with the organizational-domain fallback, p=/sp=, relaxed and
// strict alignment of DKIM and SPF) with the real opendmarc's on the
// same DKIM results and the same DNS, for generated cases under .com
// and the multi-label public suffix .co.uk.
func TestOpenDMARCVerdicts(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7489, 1))
	records := []string{
		"", "v=DMARC1; p=none", "v=DMARC1; p=quarantine", "v=DMARC1; p=reject",
		"v=DMARC1; p=reject; adkim=s", "v=DMARC1; p=reject; aspf=s", "v=DMARC1; p=reject; adkim=s; aspf=s",
		"v=DMARC1; p=quarantine; sp=reject", "v=DMARC1; p=reject; sp=none", "v=DMARC1;p=reject;rua=mailto:d@example.org",
		"v=DMARC1; p=reject; pct=100", "v=DMARC1; p=none; sp=quarantine; adkim=s",
	}
	zones := map[string]string{"com.": zoneHead, "co.uk.": zoneHead, "org.": zoneHead}
	var cases []dmarcCase
	for i := 0; i < 120; i++ {
		suffix := "com"
		if i%3 == 0 {
			suffix = "co.uk"
		}
		org := fmt.Sprintf("d%d.%s", i, suffix)
		rec := records[rng.IntN(len(records))]
		if rec != "" {
			zones[suffix+"."] += fmt.Sprintf("_dmarc.d%d TXT %q\n", i, rec)
		}
		from := []string{org, "mail." + org, "a.b." + org}[rng.IntN(3)]
		if strings.HasPrefix(from, "mail.") && rng.IntN(3) == 0 {
			// A record at the subdomain itself wins over the organization's.
			zones[suffix+"."] += fmt.Sprintf("_dmarc.mail.d%d TXT %q\n", i, records[1+rng.IntN(len(records)-1)])
		}
		doms := []string{org, "mail." + org, from, "other.org", "x." + org}
		c := dmarcCase{from: from}
		for n := rng.IntN(3); n > 0; n-- {
			res := ResultPass
			if rng.IntN(3) == 0 {
				res = ResultFail
			}
			c.dkim = append(c.dkim, DKIMResult{Result: res, Domain: doms[rng.IntN(len(doms))], Selector: "s"})
		}
		// opendmarc -t takes no SPF result (see RunOpenDMARC): SPF
		// never aligns here; TestDMARCSPFAlignment covers it.
		c.spf = SPFResult{Result: ResultFail, Identity: "mailfrom", Domain: "other.org", Sender: "bounce@other.org"}
		cases = append(cases, c)
	}
	var msgs [][]byte
	for _, c := range cases {
		var ar []string
		for _, d := range c.dkim {
			ar = append(ar, fmt.Sprintf("dkim=%s header.d=%s", d.Result, d.Domain))
		}
		if len(c.dkim) == 0 {
			ar = append(ar, "dkim=none")
		}
		ar = append(ar, fmt.Sprintf("spf=%s smtp.mailfrom=%s", c.spf.Result, c.spf.Sender))
		msgs = append(msgs, []byte("Authentication-Results: mx.test; "+strings.Join(ar, "; ")+"\r\nFrom: user@"+c.from+"\r\nTo: x@example.org\r\nSubject: dmarc\r\n\r\nbody\r\n"))
	}
	ref := testutil.RunOpenDMARC(t, zones, msgs)

	ns := testutil.StartNSD(t, zones)
	v := &Verifier{Resolver: ns.Resolver()}
	lim := v.Limits.withDefaults()
	known := 0
	for i, c := range cases {
		_, fields, err := readHeader(bufio.NewReader(strings.NewReader(string(msgs[i]))), 1<<20, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := v.evaluateDMARC(context.Background(), lim, fields, c.spf, c.dkim)
		want := ref[i]
		if got.Result == ResultFail && want.Result == ResultPass && strictDKIM(zones, c.from) {
			// Known OpenDMARC 1.4.2 bug: with a public suffix list,
			// adkim=s accepts a d= in the same organizational domain
			// (fixed upstream by trusteddomainproject/OpenDMARC#354).
			known++
			t.Logf("known difference (opendmarc strict alignment bug): case %d From %s dkim %+v", i, c.from, c.dkim)
			continue
		}
		// opendmarc does not quarantine in test mode (dis=none), so the
		// applied policy is compared, and the disposition for reject.
		if got.Result != want.Result || got.Policy != want.Policy && want.Result == ResultFail || (got.Disposition == DispositionReject) != (want.Disposition == DispositionReject) {
			t.Errorf("case %d From %s dkim %+v spf %s(%s): yubin %s/%s (policy %q at %s), opendmarc %s/%s\n%s", i, c.from, c.dkim, c.spf.Result, c.spf.Domain,
				got.Result, got.Disposition, got.Policy, got.PolicyFrom, want.Result, want.Disposition, want.Output)
		}
	}
	counts := map[string]int{}
	for _, r := range ref {
		counts[r.Result+"/"+r.Policy]++
	}
	t.Logf("opendmarc verdicts over %d cases: %v; %d known differences", len(ref), counts, known)
	for _, need := range []string{"fail/reject", "fail/quarantine", "fail/none", "none/none"} {
		if counts[need] == 0 {
			t.Errorf("the corpus never gives %s", need)
		}
	}
}

// strictDKIM reports whether the DMARC record that applies to from (at
// from itself, else at its organizational domain) has adkim=s.
func strictDKIM(zones map[string]string, from string) bool {
	all := zones["com."] + zones["co.uk."]
	rec := func(d string) string {
		label := strings.TrimSuffix(strings.TrimSuffix(d, ".co.uk"), ".com")
		for _, l := range strings.Split(all, "\n") {
			if strings.HasPrefix(l, "_dmarc."+label+" TXT") {
				return l
			}
		}
		return ""
	}
	r := rec(from)
	if r == "" {
		r = rec(OrganizationalDomain(from))
	}
	return strings.Contains(r, "adkim=s")
}
