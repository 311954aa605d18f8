package msgauth

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

// staticResolver answers from maps, for fuzzing (DNS servers are too
// slow for millions of inputs; the interop tests use nsd).
type staticResolver struct {
	txt map[string][]string
	ip  map[string][]net.IPAddr
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r staticResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := r.txt[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return v, nil
	}
	return nil, notFound(name)
}
func (r staticResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return []*net.MX{{Host: "mx.example.test.", Pref: 10}}, nil
}
func (r staticResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if v, ok := r.ip[strings.TrimSuffix(strings.ToLower(host), ".")]; ok {
		return v, nil
	}
	return nil, notFound(host)
}
func (r staticResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return []string{"mx.example.test."}, nil
}

// FuzzDKIMSignature verifies a message whose DKIM-Signature value is the
// input, with a real key published: any input gives results, never a
// panic, and pass only with the right signature.
func FuzzDKIMSignature(f *testing.F) {
	k := newTestKeys(f, "example.test")
	txt, _ := TXTRecord(k.ed.Public())
	res := staticResolver{txt: map[string][]string{"yed25519._domainkey.example.test": {txt}}}
	s := &Signer{Keys: DomainKeys{"example.test": {k.edKey()}}}
	msg := "From: a@example.test\r\nSubject: x\r\n\r\nbody\r\n"
	sig, err := s.Sign(context.Background(), strings.NewReader(msg))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(strings.TrimPrefix(strings.TrimSuffix(sig, "\r\n"), "DKIM-Signature: "))
	f.Add("v=1; a=rsa-sha256; d=example.test; s=x; h=from; bh=; b=")
	f.Add("v=1;;;;a=ed25519-sha256; x=1; t=99999999999999999999; l=-1")
	f.Add("=; ;=;==")
	v := &Verifier{Resolver: res, Limits: Limits{Timeout: time.Second}}
	f.Fuzz(func(t *testing.T, value string) {
		if strings.ContainsAny(value, "\r\n") {
			value = strings.NewReplacer("\r", " ", "\n", " ").Replace(value)
		}
		parseTags(value)
		m := "DKIM-Signature: " + value + "\r\n" + msg
		out, err := v.VerifyDKIM(context.Background(), strings.NewReader(m))
		if err != nil {
			return
		}
		if len(out) != 1 {
			t.Fatalf("%d results for one signature", len(out))
		}
	})
}

// FuzzDMARCRecord evaluates a message against a DMARC record that is the
// input: a result always, never a panic.
func FuzzDMARCRecord(f *testing.F) {
	for _, s := range []string{"v=DMARC1; p=reject", "v=DMARC1; p=quarantine; sp=none; adkim=s; aspf=r; pct=50; rua=mailto:a@b", "v=DMARC1;p=bogus", "v=DMARC1; pct=-1", "v=DMARC1; fo=1:d:s; ri=x"} {
		f.Add(s)
	}
	_, fields, _ := readHeader(bufioReader("From: a@mail.example.test\r\n\r\n"), 1<<20, 10)
	f.Fuzz(func(t *testing.T, rec string) {
		v := &Verifier{Resolver: staticResolver{txt: map[string][]string{"_dmarc.example.test": {rec}}}}
		r := v.evaluateDMARC(context.Background(), v.Limits.withDefaults(), fields, SPFResult{Result: ResultFail}, []DKIMResult{{Result: ResultPass, Domain: "example.test"}})
		if r.Result == "" {
			t.Fatal("no result")
		}
	})
}

// FuzzSPFRecord checks an SPF record that is the input, both through the
// syntax check and a full evaluation: a valid result always, never a
// panic or hang.
func FuzzSPFRecord(f *testing.F) {
	for _, s := range []string{"v=spf1 ip4:192.0.2.0/24 -all", "v=spf1 a/24//64 mx:%{d2} include:%{l}.x.%{d} exists:%{ir}.%{v}._spf.%{d} redirect=x.example.test", "v=spf1 %{", "v=spf1 ip6:::1/129", "v=spf1 exp=%{z}"} {
		f.Add(s)
	}
	valid := map[string]bool{}
	for _, r := range []string{ResultNone, ResultNeutral, ResultPass, ResultFail, ResultSoftFail, ResultTempError, ResultPermError} {
		valid[r] = true
	}
	f.Fuzz(func(t *testing.T, rec string) {
		ParseSPFRecord(rec)
		v := &Verifier{Resolver: staticResolver{
			txt: map[string][]string{"example.test": {rec}, "x.example.test": {rec}},
			ip:  map[string][]net.IPAddr{"example.test": {{IP: net.ParseIP("192.0.2.1")}}},
		}, Limits: Limits{Timeout: time.Second}}
		r := v.CheckSPF(context.Background(), net.ParseIP("192.0.2.1"), "mx.example.test", "a@example.test")
		if !valid[r.Result] {
			t.Fatalf("result %q", r.Result)
		}
	})
}

// FuzzAuthResults parses and strips an Authentication-Results value that
// is the input: never a panic, and stripping never touches other fields.
func FuzzAuthResults(f *testing.F) {
	for _, s := range []string{"mx.example.org; dkim=pass header.d=x", "(c) mx.example.org 1; none", "\"mx.example.org\"; spf=fail", "((((", "mx; dkim=pass (reason \\) x) header.i=@a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		value = strings.NewReplacer("\r", " ", "\n", " ").Replace(value)
		AuthservID(value)
		authres.Parse(value)
		hdr := "Subject: a\r\nAuthentication-Results: " + value + "\r\nX: b\r\n\r\n"
		out, n := StripAuthResults([]byte(hdr), "mx.example.org")
		_, fields, err := readHeader(bufio.NewReader(strings.NewReader(string(out))), 1<<20, 100)
		if err != nil || len(fields) != 3-n || fields[0].Name != "Subject" || fields[len(fields)-1].Name != "X" {
			t.Fatalf("strip removed %d and left %q", n, out)
		}
	})
}
