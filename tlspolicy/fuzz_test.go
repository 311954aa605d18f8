package tlspolicy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func FuzzSTSRecord(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=20160831085700Z;", "v=STSv1;id=a;;", "v=STSv1; id=", "=;=;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSTSRecord(s)
		if err == nil && (r.ID == "" || len(r.ID) > 32 || !isAlnum(r.ID)) {
			t.Fatalf("accepted id %q", r.ID)
		}
	})
}

func FuzzSTSPolicy(f *testing.F) {
	for _, s := range []string{
		"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
		"version: STSv1\nmode: none\nmax_age: 0\n",
		"version:STSv1\nmode:testing\nmx:*.\nmax_age:1",
	} {
		f.Add([]byte(s), "mx.example.net")
	}
	f.Fuzz(func(t *testing.T, b []byte, host string) {
		p, err := ParseSTSPolicy(b)
		if err != nil {
			return
		}
		if len(p.MX) > MaxSTSMX || p.MaxAge < 0 || p.MaxAge > MaxSTSMaxAge {
			t.Fatalf("policy beyond limits: %d mx, max_age %v", len(p.MX), p.MaxAge)
		}
		p.MatchMX(host)
		_ = p.String()
	})
}

func FuzzRPTRecord(f *testing.F) {
	for _, s := range []string{
		"v=TLSRPTv1; rua=mailto:reports@example.com",
		"v=TLSRPTv1;rua=https://r.example/x,mailto:a%40b.example",
		"v=TLSRPTv1; rua=mailto:,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRPTRecord(s)
		if err != nil {
			return
		}
		if len(r.RUA) == 0 || len(r.RUA) > MaxRUA {
			t.Fatalf("%d rua", len(r.RUA))
		}
		for _, a := range r.MailtoAddrs() {
			for i := 0; i < len(a); i++ {
				if a[i] == '\r' || a[i] == '\n' {
					t.Fatalf("mailto address with a line break: %q", a)
				}
			}
		}
	})
}

func FuzzTLSA(f *testing.F) {
	f.Add([]byte{3, 1, 1, 1, 2, 3}, "3 1 1 0102")
	f.Add([]byte{2, 0, 0, 0x30, 0x82}, "2 0 1 "+"ab")
	f.Add([]byte{2, 1, 0, 0x30, 0x59, 0x30, 0x13}, "2 1 0 3059")
	leaf, ca := testChain(f, "mx.example.com")
	chains := []tls.ConnectionState{{PeerCertificates: []*x509.Certificate{leaf}}, {PeerCertificates: []*x509.Certificate{leaf, ca}}}
	f.Fuzz(func(t *testing.T, wire []byte, text string) {
		if r, err := ParseTLSA(wire); err == nil {
			// Any record, bare-key anchors included, is judged
			// without a panic.
			for _, cs := range chains {
				VerifyDANE(cs, []TLSA{r}, []string{"mx.example.com"}, time.Now())
			}
			if len(r.Data) > MaxTLSAData {
				t.Fatal("data over the limit")
			}
			r2, err := ParseTLSAText(r.String())
			if err != nil || r2.String() != r.String() {
				t.Fatalf("round trip of %v: %v %v", r, r2, err)
			}
		}
		if r, err := ParseTLSAText(text); err == nil && len(r.Data) > MaxTLSAData {
			t.Fatal("data over the limit")
		}
	})
}

// FuzzStateLoad feeds Recorder.Load and STS.Load arbitrary files: no
// panic, and the limits hold for what is loaded.
func FuzzStateLoad(f *testing.F) {
	f.Add([]byte(`{"Start":"2026-12-07T00:00:00Z","Policies":[{"Policy":{"Type":"tlsa","Domain":"a.test"},"Success":1,"Failure":1,"Failures":[{"Result":"validation-failure","Count":1}]}]}`))
	f.Add([]byte(`[{"Domain":"a.test","ID":"1","Policy":"version: STSv1\nmode: enforce\nmx: mx.a.test\nmax_age: 86400","Expires":"2999-01-01T00:00:00Z"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &Recorder{MaxPolicies: 3, MaxFailures: 2}
		if r.Load(bytes.NewReader(b)) == nil {
			for _, c := range r.Peek().Policies {
				if len(c.Failures) > 2 {
					t.Fatal("MaxFailures exceeded")
				}
			}
			if len(r.Peek().Policies) > 3 {
				t.Fatal("MaxPolicies exceeded")
			}
		}
		s := &STS{MaxCache: 2}
		if s.Load(bytes.NewReader(b)) == nil && len(s.cache) > 2 {
			t.Fatal("MaxCache exceeded")
		}
	})
}
