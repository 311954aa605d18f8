package msgauth

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
)

// TestDMARCSPFAlignment covers SPF alignment, which the OpenDMARC
// comparison cannot drive: relaxed accepts the same organizational
// domain, strict only the same name, and an SPF that did not pass never
// aligns.
func TestDMARCSPFAlignment(t *testing.T) {
	t.Parallel()
	ns := startDNS(t, map[string]string{"example.test.": `_dmarc TXT "v=DMARC1; p=reject"
_dmarc.strict TXT "v=DMARC1; p=quarantine; aspf=s"
`, "nodmarc.test.": ""})
	v := &Verifier{Resolver: ns.Resolver()}
	lim := v.Limits.withDefaults()
	for _, tc := range []struct {
		from, spfDomain, spfResult, want, disp string
	}{
		{"example.test", "example.test", ResultPass, ResultPass, DispositionNone},
		{"example.test", "bounce.example.test", ResultPass, ResultPass, DispositionNone},
		{"sub.example.test", "example.test", ResultPass, ResultPass, DispositionNone},
		{"example.test", "other.test", ResultPass, ResultFail, DispositionReject},
		{"example.test", "example.test", ResultSoftFail, ResultFail, DispositionReject},
		{"strict.example.test", "strict.example.test", ResultPass, ResultPass, DispositionNone},
		{"strict.example.test", "example.test", ResultPass, ResultFail, DispositionQuarantine},
		{"sub.nodmarc.test", "x.test", ResultFail, ResultNone, DispositionNone},
	} {
		_, fields, _ := readHeader(bufioReader("From: a@"+tc.from+"\r\n\r\n"), 1<<20, 10)
		spf := SPFResult{Result: tc.spfResult, Identity: "mailfrom", Domain: tc.spfDomain, Sender: "b@" + tc.spfDomain}
		got := v.evaluateDMARC(context.Background(), lim, fields, spf, nil)
		if got.Result != tc.want || got.Disposition != tc.disp {
			t.Errorf("From %s, SPF %s for %s: %s/%s, want %s/%s", tc.from, tc.spfResult, tc.spfDomain, got.Result, got.Disposition, tc.want, tc.disp)
		}
	}
}

// TestCheckSignedAndForged runs the whole inbound check against NSD: a
// message signed by yubin from an SPF-permitted address passes DKIM,
// SPF and DMARC; the same From forged from another address with no
// signature fails DMARC with the domain's p=reject.
func TestCheckSignedAndForged(t *testing.T) {
	t.Parallel()
	keys := newTestKeys(t, "example.test")
	ns := startDNS(t, map[string]string{"example.test.": keys.zone + `@ TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc TXT "v=DMARC1; p=reject"
`})
	ctx := context.Background()
	s := &Signer{Keys: DomainKeys{"example.test": {keys.rsaKey(), keys.edKey()}}}
	msg := "From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n"
	sig, err := s.Sign(ctx, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Resolver: ns.Resolver()}
	res, err := v.Check(ctx, Envelope{ClientIP: net.ParseIP("192.0.2.10"), HELO: "mx.example.test", MailFrom: "alice@example.test"},
		strings.NewReader("Authentication-Results: mx.example.org; dkim=pass (forged)\r\n"+sig+msg))
	if err != nil {
		t.Fatal(err)
	}
	if res.SPF.Result != ResultPass || len(res.DKIM) != 2 || res.DKIM[0].Result != ResultPass || res.DKIM[1].Result != ResultPass || res.DMARC.Result != ResultPass {
		t.Fatalf("signed: %+v", res)
	}
	h := res.Header("mx.example.org")
	for _, want := range []string{"Authentication-Results: mx.example.org;", "dkim=pass", "header.d=example.test", "header.s=yrsa", "header.s=yed25519", "spf=pass", "smtp.mailfrom=alice@example.test", "dmarc=pass", "header.from=example.test"} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
	if !strings.HasSuffix(h, "\r\n") || strings.Contains(strings.ReplaceAll(h, "\r\n\t", ""), "\n\n") {
		t.Errorf("header not one folded field: %q", h)
	}

	forged := "From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: pay now\r\n\r\nSend money\r\n"
	res, err = v.Check(ctx, Envelope{ClientIP: net.ParseIP("203.0.113.9"), HELO: "evil.example", MailFrom: "x@evil.example"}, strings.NewReader(forged))
	if err != nil {
		t.Fatal(err)
	}
	if res.DMARC.Result != ResultFail || res.DMARC.Disposition != DispositionReject || len(res.DKIM) != 0 {
		t.Fatalf("forged: %+v", res)
	}
}

func TestStripAuthResults(t *testing.T) {
	hdr := "Received: from x\r\n" +
		"Authentication-Results: mx.example.org; spf=pass\r\n" +
		"Authentication-Results: (comment) MX.Example.Org;\r\n\tdkim=pass\r\n" +
		"Authentication-Results: other.example; dkim=pass\r\n" +
		"authentication-results : mx.example.org.evil; dkim=pass\r\n" +
		"Authentication-Results: \"mx.example.org\"; dkim=pass\r\n" +
		"Subject: x\r\n\r\n"
	out, n := StripAuthResults([]byte(hdr), "mx.example.org")
	want := "Received: from x\r\n" +
		"Authentication-Results: other.example; dkim=pass\r\n" +
		"authentication-results : mx.example.org.evil; dkim=pass\r\n" +
		"Subject: x\r\n\r\n"
	if string(out) != want || n != 3 {
		t.Fatalf("removed %d:\n%q\nwant:\n%q", n, out, want)
	}
	_, fields, err := readHeader(bufio.NewReader(strings.NewReader(string(out))), 1<<20, 100)
	if err != nil || len(fields) != 4 {
		t.Fatalf("reparse: %v %d", err, len(fields))
	}
}
