package msgauth

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// spfZone builds the spf.test zone: fixed hosts, include and redirect
// targets, and n generated policies p0..p(n-1) mixing every mechanism,
// qualifier and macro, plus hand-written edge cases (e0..).
func spfZone(n int) (zone string, policies []string) {
	var z strings.Builder
	z.WriteString(`a1 A 192.0.2.10
a1 AAAA 2001:db8::10
a2 A 192.0.2.20
a2 A 198.51.100.5
a6 AAAA 2001:db8:1::1
mx1 MX 10 a1
mx2 MX 10 a2
mx2 MX 20 a1
mxnone MX 10 nothing-here
inc-pass TXT "v=spf1 ip4:192.0.2.0/24 -all"
inc-fail TXT "v=spf1 -all"
inc-soft TXT "v=spf1 ~all"
inc-neutral TXT "v=spf1 ?all"
inc-perm TXT "v=spf1 foo:bar"
inc-ip6 TXT "v=spf1 ip6:2001:db8::/32 -all"
inc-temp TXT "v=spf1 include:x.broken.test -all"
inc-a TXT "v=spf1 a:a2.spf.test -all"
inc-empty TXT "v=spf1"
inc-two TXT "v=spf1 +all"
inc-two TXT "v=spf1 -all"
inc-nested TXT "v=spf1 include:inc-pass.spf.test include:inc-ip6.spf.test -all"
inc-other TXT "some verification token"
inc-other TXT "v=spf1 ip4:198.51.100.0/24 ~all"
10.2.0.192.ex A 127.0.0.2
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.8.b.d.0.1.0.0.2.ex A 127.0.0.2
alice.user A 127.0.0.2
in-addr.v A 127.0.0.2
ip6.v A 127.0.0.2
192.0.2.10.rev A 127.0.0.2
`)
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&z, "l%d TXT \"v=spf1 include:l%d.spf.test -all\"\n", i, i+1)
	}
	z.WriteString("l13 TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n")
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&z, "r%d TXT \"v=spf1 redirect=r%d.spf.test\"\n", i, i+1)
	}
	z.WriteString("r5 TXT \"v=spf1 ip4:192.0.2.10 -all\"\n")

	terms := []string{
		"ip4:192.0.2.10", "ip4:192.0.2.0/24", "ip4:198.51.100.0/25", "ip4:203.0.113.7/32", "ip4:0.0.0.0/0",
		"ip6:2001:db8::10", "ip6:2001:db8::/48", "ip6:2001:db8:1::/64", "ip6:::/0",
		"a", "a:a1.spf.test", "a:a2.spf.test/24", "a:a1.spf.test//64", "a:a2.spf.test/16//32", "a:a6.spf.test",
		"a:void1.spf.test", "a:void2.spf.test", "a:void3.spf.test",
		"mx", "mx:mx1.spf.test", "mx:mx2.spf.test/24", "mx:mxnone.spf.test", "mx:mx1.spf.test//48",
		"include:inc-pass.spf.test", "include:inc-fail.spf.test", "include:inc-soft.spf.test",
		"include:inc-neutral.spf.test", "include:inc-perm.spf.test", "include:inc-ip6.spf.test",
		"include:inc-temp.spf.test", "include:inc-a.spf.test", "include:inc-empty.spf.test",
		"include:inc-none.spf.test", "include:inc-two.spf.test", "include:inc-nested.spf.test",
		"include:inc-other.spf.test",
		"exists:%{i}.ex.spf.test", "exists:%{l}.user.spf.test", "exists:%{v}.v.spf.test",
		"exists:%{ir}.rev.spf.test", "exists:%{d2}", "exists:%{h}", "exists:%{o}", "exists:%{l1r}.user.spf.test",
		"exists:%{d}", "exists:%{L}.user.spf.test",
		"ptr", "ptr:spf.test", "ptr:a1.spf.test",
		"ip4:192.0.2.300", "ip4:192.0.2.0/33", "ip6:2001:db8::/129", "foo", "a:", "mx:.spf.test",
		"exists:%{z}.spf.test", "unknown-mod=1", "exp=explain.spf.test",
	}
	quals := []string{"", "", "+", "-", "~", "?"}
	ends := []string{"-all", "~all", "?all", "+all", "", "", "redirect=inc-pass.spf.test", "redirect=inc-fail.spf.test", "redirect=inc-none.spf.test", "redirect=r1.spf.test"}
	rng := rand.New(rand.NewPCG(18, 7208))
	for i := 0; i < n; i++ {
		k := 1 + rng.IntN(4)
		parts := []string{"v=spf1"}
		for j := 0; j < k; j++ {
			t := terms[rng.IntN(len(terms))]
			if !strings.Contains(t, "=") {
				t = quals[rng.IntN(len(quals))] + t
			}
			parts = append(parts, t)
		}
		if e := ends[rng.IntN(len(ends))]; e != "" {
			parts = append(parts, e)
		}
		name := fmt.Sprintf("p%d", i)
		fmt.Fprintf(&z, "%s TXT %q\n", name, strings.Join(parts, " "))
		fmt.Fprintf(&z, "%s A 192.0.2.10\n%s MX 10 a2\n", name, name)
		policies = append(policies, name)
	}
	edge := []string{
		`"v=spf1 include:l1.spf.test -all"`,                                // 13 nested includes: over the limit
		`"v=spf1 include:l4.spf.test -all"`,                                // 10 lookups: at the limit
		`"v=spf1 a:void1.spf.test a:void2.spf.test a:void3.spf.test -all"`, // 3 void lookups
		`"v=spf1 a:void1.spf.test a:void2.spf.test ip4:192.0.2.0/24 -all"`, // 2: allowed
		`"v=spf1 mx mx mx mx mx mx mx mx mx mx mx -all"`,                   // 11 mx
		`"v=spf1 redirect=r1.spf.test"`,
		`"v=spf1 ip4:192.0.2.10 -all" " ip4:198.51.100.5"`, // split strings
		`"V=SPF1 IP4:192.0.2.10 -ALL"`,
		`"v=spf1 -ip4:192.0.2.10 +all"`,
		`"v=spf10 +all"`,
		`"v=spf1 redirect=inc-pass.spf.test redirect=inc-fail.spf.test"`,
		`"v=spf1 exp=a.spf.test exp=b.spf.test -all"`,
		`"v=spf1 ip4:192.0.2.10 redirect=inc-fail.spf.test +all"`,
		`"v=spf1 include:%{d}.spf.test -all"`,
		`"v=spf1 ip6:2001:db8::10 ip4:192.0.2.10 -all"`,
		`"v=spf1 a/24 -all"`,
		`"v=spf1 a//0 -all"`,
		`"v=spf1 ?exists:%{ir}.%{v}._spf.%{d} -all"`,
		`"v=spf1   ip4:192.0.2.10    -all   "`,
		`"v=spf1 include:inc-temp.spf.test +all"`,
		`"v=spf1 ptr -all"`,
	}
	for i, rec := range edge {
		name := fmt.Sprintf("e%d", i)
		fmt.Fprintf(&z, "%s TXT %s\n%s A 192.0.2.20\n", name, rec, name)
		policies = append(policies, name)
	}
	// Two SPF records, and none.
	z.WriteString("multi TXT \"v=spf1 +all\"\nmulti TXT \"v=spf1 -all\"\nnorecord A 192.0.2.10\n")
	policies = append(policies, "multi", "norecord", "nxdomain-name")
	return z.String(), policies
}

// TestPyspfVerdicts checks yubin's SPF verdicts against pyspf's (Debian's
// python3-spf, RFC 7208) for generated and edge-case policies served by
// a real nsd: every mechanism and qualifier, includes and redirects,
// macros, void lookups and the 10-lookup limit, IPv4 and IPv6 clients,
// and the null sender.
func TestPyspfVerdicts(t *testing.T) {
	t.Parallel()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testutil.Unavailable(t, "%s not found", py)
	}
	if err := exec.Command(py, "-c", "import spf, DNS").Run(); err != nil {
		testutil.Unavailable(t, "pyspf not importable by %s (install python3-spf): %v", py, err)
	}
	zone, policies := spfZone(300)
	ns := startDNS(t, map[string]string{
		"spf.test.":                 zone,
		"broken.test.":              "",
		"2.0.192.in-addr.arpa.":     "10 IN PTR a1.spf.test.\n20 IN PTR a2.spf.test.\n",
		"100.51.198.in-addr.arpa.":  "5 IN PTR a2.spf.test.\n",
		"113.0.203.in-addr.arpa.":   "7 IN PTR p1.spf.test.\n",
		"8.b.d.0.1.0.0.2.ip6.arpa.": "",
	})
	ips := []string{"192.0.2.10", "192.0.2.99", "198.51.100.5", "203.0.113.7", "2001:db8::10", "2001:db8:1::1"}
	type tcase struct{ ip, sender, helo string }
	var cases []tcase
	for i, p := range policies {
		d := p + ".spf.test"
		for j := 0; j < 3; j++ {
			ip := ips[(i+j*2)%len(ips)]
			sender := "alice@" + d
			if j == 2 && i%4 == 0 {
				sender = "" // the null sender: the HELO identity
			}
			cases = append(cases, tcase{ip, sender, d})
		}
	}
	// pyspf, one process for all cases.
	var in bytes.Buffer
	for _, c := range cases {
		fmt.Fprintf(&in, "%s\t%s\t%s\n", c.ip, c.sender, c.helo)
	}
	_, port, _ := strings.Cut(ns.Addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/pyspf_check.py", port)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyspf: %v\n%s", err, stderr.String())
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(want) != len(cases) {
		t.Fatalf("pyspf gave %d results for %d cases\n%s", len(want), len(cases), stderr.String())
	}
	v := &Verifier{Resolver: ns.Resolver()}
	got := make([]SPFResult, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got[i] = v.CheckSPF(ctx, net.ParseIP(c.ip), c.helo, c.sender)
		}()
	}
	wg.Wait()
	counts := map[string]int{}
	mismatch, known := 0, 0
	for i, c := range cases {
		counts[want[i]]++
		rec := zoneRecord(zone, strings.TrimSuffix(c.helo, ".spf.test"))
		if got[i].Result != want[i] && strings.Count(rec, "ptr") >= 2 && strings.Contains(got[i].Reason+want[i], "permerror") {
			// Known difference: after a void PTR lookup, pyspf queries
			// again for a second ptr term and counts another void
			// lookup; the library reuses the first answer.
			known++
			t.Logf("known difference (repeated ptr): %s from %s: yubin %s, pyspf %s", c.helo, c.ip, got[i].Result, want[i])
			continue
		}
		if got[i].Result != want[i] {
			mismatch++
			if mismatch <= 40 {
				t.Errorf("%s from %s (sender %q): yubin %s (%s), pyspf %s\n\t%s", c.helo, c.ip, c.sender, got[i].Result, got[i].Reason, want[i], rec)
			}
		}
	}
	t.Logf("%d checks over %d policies; pyspf verdicts %v; %d differ, %d known differences", len(cases), len(policies), counts, mismatch, known)
	// temperror is not among them: nsd answers for an unloadable zone
	// the way a missing one is answered (both implementations say
	// permerror); TestSPFBadDNS covers DNS failures.
	for _, r := range []string{ResultPass, ResultFail, ResultSoftFail, ResultNeutral, ResultNone, ResultPermError} {
		if counts[r] == 0 {
			t.Errorf("the corpus never gives %s", r)
		}
	}
}

// zoneRecord returns the TXT lines of name in a zone text, for messages.
func zoneRecord(zone, name string) string {
	var out []string
	for _, l := range strings.Split(zone, "\n") {
		if strings.HasPrefix(l, name+" TXT") {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}
