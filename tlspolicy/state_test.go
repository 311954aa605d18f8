package tlspolicy

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestRecorderSaveLoad: the counts of a period survive a restart: Load
// adds them to what the new Recorder counted since, the earlier start
// kept; garbage, negative counts and an oversized state are refused.
func TestRecorderSaveLoad(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	ref := PolicyRef{Type: PolicyTLSA, Domain: "a.test", String: []string{"3 1 1 00"}}
	f := Failure{Result: ResultValidationFailure, SendingMTAIP: netip.MustParseAddr("192.0.2.1"), ReceivingMX: "mx.a.test", ReceivingHELO: "mx.a.test"}
	old := &Recorder{Now: func() time.Time { return t0 }}
	old.Success(ref)
	old.Fail(ref, f)
	old.Fail(ref, f)
	var buf bytes.Buffer
	if err := old.Save(&buf); err != nil {
		t.Fatal(err)
	}
	r := &Recorder{Now: func() time.Time { return t0.Add(time.Hour) }}
	r.Success(ref)
	r.Fail(PolicyRef{Type: PolicyNotFound, Domain: "b.test"}, Failure{Result: ResultSTARTTLSNotSupported})
	if err := r.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	p := r.Take()
	if !p.Start.Equal(t0) || len(p.Policies) != 2 {
		t.Fatalf("period %v, %d policies", p.Start, len(p.Policies))
	}
	c := p.Policies[0]
	if c.Policy.Domain != "a.test" || c.Success != 2 || c.Failure != 2 || len(c.Failures) != 1 || c.Failures[0].Count != 2 || c.Failures[0].SendingMTAIP != f.SendingMTAIP {
		t.Fatalf("merged counts: %+v", c)
	}
	for name, bad := range map[string]string{
		"garbage":  "{",
		"negative": `{"Policies":[{"Policy":{"Type":"tlsa","Domain":"x"},"Success":-5}]}`,
		"huge":     `{"Start":"` + strings.Repeat("x", MaxStateSize) + `"}`,
	} {
		if err := (&Recorder{}).Load(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	// Limits hold for loaded counts too.
	small := &Recorder{MaxPolicies: 1}
	buf.Reset()
	r.Success(PolicyRef{Type: PolicyNotFound, Domain: "c.test"})
	r.Success(PolicyRef{Type: PolicyNotFound, Domain: "d.test"})
	r.Save(&buf)
	if err := small.Load(&buf); err != nil || len(small.Peek().Policies) != 1 {
		t.Fatalf("MaxPolicies 1: %v %d", err, len(small.Peek().Policies))
	}
}

type fixedTXT map[string][]string

func (f fixedTXT) LookupTXT(_ context.Context, name string) ([]string, error) { return f[name], nil }

// TestSTSSaveLoad: a policy cached before a restart is in force after it
// without a fetch (the policy host unreachable), until it expires; an
// expired or unparsable saved policy is left out.
func TestSTSSaveLoad(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pol, err := ParseSTSPolicy([]byte("version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400\n"))
	if err != nil {
		t.Fatal(err)
	}
	old := &STS{Now: clock}
	old.store("a.test", &stsEntry{id: "id1", policy: pol, fetched: now, expires: now.Add(pol.MaxAge)})
	old.store("gone.test", &stsEntry{id: "id1", policy: pol, fetched: now.Add(-48 * time.Hour), expires: now.Add(-time.Hour)})
	var buf bytes.Buffer
	if err := old.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.String()
	noDial := func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("policy host unreachable")
	}
	s := &STS{Now: clock, DialContext: noDial, Resolver: fixedTXT{
		"_mta-sts.a.test":    {"v=STSv1; id=id1"},
		"_mta-sts.gone.test": {"v=STSv1; id=id1"},
	}}
	if err := s.Load(strings.NewReader(saved)); err != nil {
		t.Fatal(err)
	}
	p, err := s.Policy(context.Background(), "a.test")
	if err != nil || p.Mode != STSEnforce || !p.MatchMX("mx.a.test") {
		t.Fatalf("after the restart: %+v %v", p, err)
	}
	if _, err := s.Policy(context.Background(), "gone.test"); err == nil {
		t.Fatal("an expired policy was loaded")
	}
	now = now.Add(25 * time.Hour)
	if _, err := s.Policy(context.Background(), "a.test"); err == nil {
		t.Fatal("the loaded policy outlived its max_age")
	}
	bad := strings.ReplaceAll(saved, "mode: enforce", "mode: sometimes")
	s2 := &STS{Now: func() time.Time { return now.Add(-25 * time.Hour) }}
	if err := s2.Load(strings.NewReader(bad)); err != nil || len(s2.cache) != 0 {
		t.Fatalf("an invalid saved policy: %v, %d cached", err, len(s2.cache))
	}
	if err := s2.Load(strings.NewReader("[{")); err == nil {
		t.Fatal("garbage loaded")
	}
}
