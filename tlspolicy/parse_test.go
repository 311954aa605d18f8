package tlspolicy

import (
	"strings"
	"testing"
)

func TestParseSTSRecord(t *testing.T) {
	for _, tc := range []struct {
		in, id string
	}{
		{"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
		{"v=STSv1;id=abc", "abc"},
		{"v=STSv1; id=abc; ext=1", "abc"},
		{"id=abc; v=STSv1", ""}, // version first
		{"v=STSv2; id=abc", ""}, // unknown version
		{"v=STSv1; id=", ""},    // empty id
		{"v=STSv1; id=a-b", ""}, // id is alphanumeric
		{"v=STSv1", ""},         // no id
		{"v=STSv1; id=" + strings.Repeat("a", 33), ""},
		{"v=STSv1; junk; id=abc", ""}, // a field without =
	} {
		r, err := ParseSTSRecord(tc.in)
		if tc.id == "" {
			if err == nil {
				t.Errorf("ParseSTSRecord(%q) = %+v, want an error", tc.in, r)
			}
			continue
		}
		if err != nil || r.ID != tc.id {
			t.Errorf("ParseSTSRecord(%q) = %+v, %v; want id %q", tc.in, r, err, tc.id)
		}
	}
}

func TestParseSTSPolicy(t *testing.T) {
	ok := "version: STSv1\nmode: testing\nmx: mx1.example.com\nmx: *.Example.NET.\nmax_age: 999999999\nfuture: x\n"
	p, err := ParseSTSPolicy([]byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != STSTesting || p.MaxAge != MaxSTSMaxAge || len(p.MX) != 2 || p.MX[1] != "*.example.net" {
		t.Errorf("policy %+v", p)
	}
	if p.String() != "version: STSv1; mode: testing; mx: mx1.example.com; mx: *.Example.NET.; max_age: 999999999" {
		t.Errorf("String() = %q", p.String())
	}
	if _, err := ParseSTSPolicy([]byte("version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n")); err != nil {
		t.Errorf("mode none without mx: %v", err)
	}
	for _, bad := range []string{
		"mode: enforce\nmx: a.example\nmax_age: 1\n",                  // no version
		"version: STSv1\nmx: a.example\nmax_age: 1\n",                 // no mode
		"version: STSv1\nmode: enforce\nmx: a.example\n",              // no max_age
		"version: STSv1\nmode: enforce\nmax_age: 1\n",                 // no mx
		"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",   // bad mode
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", // bad max_age
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 99999999999\n",
		"version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", // wildcard in the middle
		"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n", // no colon
		"version: STSv1\nmode: enforce\n" + strings.Repeat("mx: a.example\n", MaxSTSMX+1) + "max_age: 1\n",
		strings.Repeat(" ", MaxSTSPolicySize+1),
	} {
		if p, err := ParseSTSPolicy([]byte(bad)); err == nil {
			t.Errorf("ParseSTSPolicy(%.60q) = %+v, want an error", bad, p)
		}
	}
}

func TestSTSMatchMX(t *testing.T) {
	p := &STSPolicy{MX: []string{"mail.example.com", "*.example.net"}}
	for host, want := range map[string]bool{
		"mail.example.com":  true,
		"MAIL.Example.COM.": true,
		"mx.example.net":    true,
		"example.net":       false, // the wildcard needs one label
		"a.b.example.net":   false, // and only one
		".example.net":      false,
		"mail.example.co":   false,
		"xmail.example.com": false,
	} {
		if got := p.MatchMX(host); got != want {
			t.Errorf("MatchMX(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseRPTRecord(t *testing.T) {
	r, err := ParseRPTRecord("v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1/tlsrpt, ftp://x/")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RUA) != 2 || r.RUA[1].Host != "reporting.example.com" {
		t.Errorf("rua %v", r.RUA)
	}
	if a := r.MailtoAddrs(); len(a) != 1 || a[0] != "reports@example.com" {
		t.Errorf("MailtoAddrs %v", a)
	}
	if r, err := ParseRPTRecord("v=TLSRPTv1;rua=mailto:a%40b.example"); err != nil || r.MailtoAddrs()[0] != "a@b.example" {
		t.Errorf("escaped mailto: %v %v", r, err)
	}
	for _, bad := range []string{
		"rua=mailto:a@b.example; v=TLSRPTv1",
		"v=TLSRPTv2; rua=mailto:a@b.example",
		"v=TLSRPTv1",
		"v=TLSRPTv1; rua=ftp://x/",
		"v=TLSRPTv1; rua=mailto:not an address",
		"v=TLSRPTv1; rua=mailto:a@b.example%0d%0aBcc:c@d",
		"v=TLSRPTv1; rua=https:///nohost",
		"v=TLSRPTv1; rua=mailto:" + strings.Repeat("a", maxTXT),
	} {
		if r, err := ParseRPTRecord(bad); err == nil {
			t.Errorf("ParseRPTRecord(%.60q) = %+v, want an error", bad, r)
		}
	}
}

func TestParseTLSA(t *testing.T) {
	h := strings.Repeat("ab", 32)
	r, err := ParseTLSAText("3 1 1 " + h[:20] + " " + h[20:])
	if err != nil || r.Usage != 3 || r.Selector != 1 || r.MatchingType != 1 || len(r.Data) != 32 || !r.Usable() {
		t.Fatalf("ParseTLSAText: %+v %v", r, err)
	}
	if r2, err := ParseTLSA(r.wire()); err != nil || r2.String() != r.String() {
		t.Errorf("ParseTLSA(wire) = %v %v", r2, err)
	}
	for _, tc := range []struct {
		in     string
		usable bool
	}{
		{"2 0 1 " + h, true},
		{"3 0 2 " + strings.Repeat("cd", 64), true},
		{"3 1 0 0102", true},
		{"0 1 1 " + h, false}, // PKIX-TA
		{"1 1 1 " + h, false}, // PKIX-EE
		{"3 2 1 " + h, false}, // unknown selector
		{"3 1 3 " + h, false}, // unknown matching type
	} {
		r, err := ParseTLSAText(tc.in)
		if err != nil || r.Usable() != tc.usable {
			t.Errorf("%q: usable=%v err=%v, want usable=%v", tc.in, r.Usable(), err, tc.usable)
		}
	}
	for _, bad := range []string{"3 1 1 abcd", "3 1 2 " + h, "3 1 1", "256 1 1 " + h, "3 1 1 zz", "x 1 1 " + h} {
		if r, err := ParseTLSAText(bad); err == nil {
			t.Errorf("ParseTLSAText(%q) = %v, want an error", bad, r)
		}
	}
	if _, err := ParseTLSA([]byte{3, 1, 1}); err == nil {
		t.Error("ParseTLSA of 3 octets: no error")
	}
	if _, err := ParseTLSA(append([]byte{3, 0, 0}, make([]byte, MaxTLSAData+1)...)); err == nil {
		t.Error("ParseTLSA over MaxTLSAData: no error")
	}
}
