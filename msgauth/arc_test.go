package msgauth

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

const arcMsg = "From: Alice <alice@origin.test>\r\nTo: list@lists.test\r\nSubject: hello\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@origin.test>\r\n\r\nHello,  world.\r\n\r\n"

// arcEnv is a DNS server publishing the keys of two forwarders.
type arcEnv struct {
	hop1, hop2 *testKeys
	ver        *Verifier
	nsAddr     string
}

func newARCEnv(t *testing.T, extra map[string]string) *arcEnv {
	t.Helper()
	e := &arcEnv{hop1: newTestKeys(t, "hop1.test"), hop2: newTestKeys(t, "hop2.test")}
	zones := map[string]string{"hop1.test.": e.hop1.zone, "hop2.test.": e.hop2.zone}
	for k, v := range extra {
		zones[k] = v
	}
	ns := startDNS(t, zones)
	e.ver = &Verifier{Resolver: ns.Resolver(), Limits: Limits{Timeout: 5 * time.Second}}
	e.nsAddr = ns.Addr
	return e
}

// seal adds an ARC set to msg after validating its chain, as a
// forwarder does.
func (e *arcEnv) seal(t *testing.T, k *Key, msg string) string {
	t.Helper()
	return e.sealChanged(t, k, msg, msg)
}

// sealChanged validates the chain of received, then seals msg: the
// received message as the forwarder changed it.
func (e *arcEnv) sealChanged(t *testing.T, k *Key, received, msg string) string {
	t.Helper()
	ctx := context.Background()
	arc, err := e.ver.VerifyARC(ctx, strings.NewReader(received))
	if err != nil {
		t.Fatal(err)
	}
	s := &ARCSealer{Key: k, AuthservID: "mx." + k.Domain}
	set, err := s.Seal(ctx, strings.NewReader(msg), &Results{ARC: arc, DMARC: DMARCResult{Result: ResultPass, From: "origin.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return set + msg
}

func (e *arcEnv) verify(t *testing.T, msg string) ARCResult {
	t.Helper()
	r, err := e.ver.VerifyARC(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestARCSealAndVerify seals a message at two hops (RSA, then Ed25519;
// the second after a mailing list changed the Subject) and validates the
// chain with real DNS from nsd: pass, with oldest-pass 2 once the
// Subject changed; a body changed after sealing fails the chain.
func TestARCSealAndVerify(t *testing.T) {
	t.Parallel()
	e := newARCEnv(t, nil)
	if r := e.verify(t, arcMsg); r.Result != ResultNone {
		t.Fatalf("unsealed: %+v", r)
	}
	one := e.seal(t, e.hop1.rsaKey(), arcMsg)
	r := e.verify(t, one)
	if r.Result != ResultPass || r.OldestPass != 1 || len(r.Sets) != 1 || r.Sets[0].Sealer != "hop1.test" || r.Sets[0].CV != ResultNone {
		t.Fatalf("one hop: %+v\n%s", r, one)
	}
	if !strings.Contains(r.Sets[0].AuthResults, "mx.hop1.test;") || !strings.Contains(r.Sets[0].AuthResults, "dmarc=pass") {
		t.Fatalf("AAR: %q", r.Sets[0].AuthResults)
	}
	if r := e.verify(t, one+"appended\r\n"); r.Result != ResultFail || !strings.Contains(r.Reason, "body hash") {
		t.Fatalf("body changed: %+v", r)
	}
	listed := strings.Replace(one, "Subject: hello", "Subject: [list] hello", 1)
	if r := e.verify(t, listed); r.Result != ResultFail {
		t.Fatalf("subject changed after seal: %+v", r)
	}
	two := e.sealChanged(t, e.hop2.edKey(), one, listed)
	r = e.verify(t, two)
	if r.Result != ResultPass || len(r.Sets) != 2 || r.OldestPass != 2 || r.Sets[1].CV != ResultPass || r.Sets[1].Sealer != "hop2.test" {
		t.Fatalf("two hops: %+v\n%s", r, two)
	}
	// The first seal covers set 1 only; changing its AAR breaks it.
	broken := strings.Replace(two, "i=1; mx.hop1.test;", "i=1; mx.hop1.test; x=y;", 1)
	if r := e.verify(t, broken); r.Result != ResultFail || !strings.Contains(r.Reason, "ARC-Seal i=") {
		t.Fatalf("AAR 1 changed: %+v", r)
	}
	// A message whose chain failed is sealed with cv=fail; nobody seals after that.
	failed := e.seal(t, e.hop2.rsaKey(), one+"appended\r\n")
	if !strings.Contains(failed, "cv=fail") {
		t.Fatalf("no cv=fail:\n%s", failed)
	}
	if r := e.verify(t, failed); r.Result != ResultFail || !strings.Contains(r.Reason, "marked failed") {
		t.Fatalf("cv=fail chain: %+v", r)
	}
	s := &ARCSealer{Key: e.hop1.edKey(), AuthservID: "mx.hop1.test"}
	if set, err := s.Seal(context.Background(), strings.NewReader(failed), &Results{ARC: ARCResult{Result: ResultFail}}); err != nil || set != "" {
		t.Fatalf("sealed after cv=fail: %q %v", set, err)
	}
}

// TestARCStructure checks section 5.2's structural rules: complete sets
// numbered 1..N, no duplicates, cv=none only on i=1, at most 50 sets,
// bounded field sizes. Each broken chain fails without a DNS lookup.
func TestARCStructure(t *testing.T) {
	t.Parallel()
	v := &Verifier{Resolver: failResolver{}}
	set := func(i int, cv string) string {
		return fmt.Sprintf("ARC-Seal: i=%d; a=rsa-sha256; cv=%s; d=x.test; s=s; b=AAAA\r\nARC-Message-Signature: i=%d; a=rsa-sha256; d=x.test; s=s; h=from; bh=AAAA; b=AAAA\r\nARC-Authentication-Results: i=%d; mx.x.test; spf=pass\r\n", i, cv, i, i)
	}
	many := ""
	for i := 51; i >= 1; i-- {
		many += set(i, ResultPass)
	}
	cases := map[string]string{
		"missing-aar":  strings.Replace(set(1, "none"), "ARC-Authentication-Results: i=1; mx.x.test; spf=pass\r\n", "", 1),
		"gap":          set(3, "pass") + set(1, "none"),
		"duplicate":    set(1, "none") + "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=y.test; s=s; b=AAAA\r\n",
		"i=0":          set(0, "none"),
		"i=51":         many,
		"i=x":          strings.ReplaceAll(set(1, "none"), "i=1", "i=x"),
		"cv-pass-at-1": set(1, "pass"),
		"cv-none-at-2": set(2, "none") + set(1, "none"),
		"cv-bogus":     set(1, "maybe"),
		"huge-field":   set(1, "none") + "ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=x.test; s=s; b=" + strings.Repeat("A", 20000) + "\r\n",
		"no-aar-i":     strings.Replace(set(1, "none"), "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: mx;", 1),
		"cv-fail-last": set(2, "fail") + set(1, "none"),
	}
	for name, hdr := range cases {
		r, err := v.VerifyARC(context.Background(), strings.NewReader(hdr+"From: a@b.test\r\n\r\nbody\r\n"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Result != ResultFail || strings.Contains(r.Reason, "lookup") {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

// failResolver answers every lookup with a temporary failure: a test
// using it sees "key lookup failed" in a reason if any lookup happened.
type failResolver struct{}

func (failResolver) LookupTXT(context.Context, string) ([]string, error) {
	return nil, &net.DNSError{Err: "lookup not expected", IsTemporary: true}
}
func (failResolver) LookupMX(context.Context, string) ([]*net.MX, error) {
	return nil, &net.DNSError{Err: "lookup not expected", IsTemporary: true}
}
func (failResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "lookup not expected", IsTemporary: true}
}
func (failResolver) LookupAddr(context.Context, string) ([]string, error) {
	return nil, &net.DNSError{Err: "lookup not expected", IsTemporary: true}
}

// TestARCDMARCOverride: a p=reject failure is excused only when the ARC
// chain passes and a set sealed by a trusted sealer recorded dmarc=pass
// for the same From domain.
func TestARCDMARCOverride(t *testing.T) {
	t.Parallel()
	e := newARCEnv(t, map[string]string{"origin.test.": "_dmarc TXT \"v=DMARC1; p=reject\"\n"})
	ctx := context.Background()
	sealWith := func(dmarcRes, from string) string {
		s := &ARCSealer{Key: e.hop1.edKey(), AuthservID: "mx.hop1.test"}
		set, err := s.Seal(ctx, strings.NewReader(arcMsg), &Results{ARC: ARCResult{Result: ResultNone}, DMARC: DMARCResult{Result: dmarcRes, From: from}})
		if err != nil {
			t.Fatal(err)
		}
		return set + arcMsg
	}
	good := sealWith(ResultPass, "origin.test")
	cases := []struct {
		name     string
		msg      string
		trusted  []string
		excused  bool
		arcState string
	}{
		{"trusted", good, []string{"hop1.test"}, true, ResultPass},
		{"not-trusted", good, []string{"hop2.test"}, false, ResultPass},
		{"none-trusted", good, nil, false, ResultPass},
		{"broken-chain", good + "changed\r\n", []string{"hop1.test"}, false, ResultFail},
		{"sealer-saw-fail", sealWith(ResultFail, "origin.test"), []string{"hop1.test"}, false, ResultPass},
		{"other-from", sealWith(ResultPass, "elsewhere.test"), []string{"hop1.test"}, false, ResultPass},
	}
	for _, c := range cases {
		v := *e.ver
		v.TrustedARCSealers = c.trusted
		res, err := v.Check(ctx, Envelope{ClientIP: net.ParseIP("192.0.2.9"), HELO: "mail.hop1.test", MailFrom: "bounces@hop1.test"}, strings.NewReader(c.msg))
		if err != nil {
			t.Fatal(err)
		}
		d := res.DMARC
		if d.Result != ResultFail || res.ARC.Result != c.arcState {
			t.Fatalf("%s: dmarc %+v arc %+v", c.name, d, res.ARC)
		}
		if c.excused != (d.Disposition == DispositionNone && d.ARCOverride == "hop1.test") {
			t.Errorf("%s: excused=%v: %+v", c.name, c.excused, d)
		}
		if !c.excused && d.Disposition != DispositionReject {
			t.Errorf("%s: disposition %s", c.name, d.Disposition)
		}
		if h := res.Header("mx.test"); !strings.Contains(h, "arc="+c.arcState) {
			t.Errorf("%s: header %q", c.name, h)
		}
	}
}
