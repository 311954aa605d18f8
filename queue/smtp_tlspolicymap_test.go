package queue

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSMTPTLSPolicyMapKeys: smtp_tls_policy_maps is looked up by the
// nexthop domain, then its parent domains, or by "[host]"; the first
// entry found gives the level; attributes at verify or secure make the
// mail wait; a lookup error defers.
func TestSMTPTLSPolicyMapKeys(t *testing.T) {
	m := map[string]string{
		".example.com":        "encrypt",
		"[relay.example.net]": "none",
		"match.example.org":   "secure match=nexthop",
		"proto.example.org":   "encrypt protocols=>=TLSv1.2",
		"fail.example.org":    "",
	}
	var asked []string
	tr := &SMTPTransport{TLSLevel: TLSMay, TLSPolicyMap: func(_ context.Context, k string) (string, bool, error) {
		asked = append(asked, k)
		if k == "fail.example.org" {
			return "", false, errors.New("table down")
		}
		v, ok := m[k]
		return v, ok, nil
	}}
	d := newSMTPDelivery("x", "", "a@x")
	for _, tc := range []struct {
		nexthop, level, asked, fail string
	}{
		{"mx.sub.example.com", "encrypt", "mx.sub.example.com .sub.example.com .example.com", ""},
		{"example.net", "may", "example.net .net", ""},
		{"[relay.example.net]:587", "none", "[relay.example.net]", ""},
		{"match.example.org", "", "match.example.org", "are not supported"},
		{"proto.example.org", "encrypt", "proto.example.org", ""},
		{"fail.example.org", "", "fail.example.org", "TLS policy lookup failed"},
	} {
		asked = nil
		nh, err := parseSMTPNexthop(tc.nexthop)
		if err != nil {
			t.Fatal(err)
		}
		level, r := tr.policyMapLevel(context.Background(), d, nh)
		if got := strings.Join(asked, " "); got != tc.asked {
			t.Errorf("%s: keys %q, want %q", tc.nexthop, got, tc.asked)
		}
		if tc.fail != "" {
			if r == nil || r.Status != Deferred || !strings.Contains(r.Text, tc.fail) {
				t.Errorf("%s: %v, want deferred with %q", tc.nexthop, r, tc.fail)
			}
			continue
		}
		if r != nil || string(level) != tc.level {
			t.Errorf("%s: level %q (%v), want %q", tc.nexthop, level, r, tc.level)
		}
	}
}
