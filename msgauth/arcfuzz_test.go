package msgauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// arcFuzzKey is a fixed Ed25519 key so that seed chains verify.
func arcFuzzKey() (*Key, staticResolver) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	rec, _ := TXTRecord(priv.Public())
	return &Key{Domain: "fwd.test", Selector: "s"}, staticResolver{txt: map[string][]string{"s._domainkey.fwd.test": {rec}}}
}

// FuzzARCChain validates arbitrary messages against a resolver that
// knows one key: no panic, a status of none, pass or fail, and a pass
// only with a well-formed chain. Seeds are chains of one and two sets
// sealed with that key.
func FuzzARCChain(f *testing.F) {
	key, res := arcFuzzKey()
	key.Signer = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	ctx := context.Background()
	s := &ARCSealer{Key: key, AuthservID: "mx.fwd.test", Now: func() time.Time { return time.Unix(1700000000, 0) }}
	msg := "From: a@origin.test\r\nTo: b@fwd.test\r\nSubject: s\r\n\r\nbody  \r\n\r\n"
	one, err := s.Seal(ctx, strings.NewReader(msg), &Results{ARC: ARCResult{Result: ResultNone}})
	if err != nil {
		f.Fatal(err)
	}
	two, err := s.Seal(ctx, strings.NewReader(one+msg), &Results{ARC: ARCResult{Result: ResultPass}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(one + msg)
	f.Add(two + one + msg)
	f.Add("ARC-Seal: i=1; cv=none\r\n\r\n")
	f.Add("ARC-Authentication-Results: i=1\r\nARC-Seal: i=01; i=2\r\nARC-Message-Signature: i=1; h=from:from:arc-seal; c=relaxed\r\n\r\n")
	v := &Verifier{Resolver: res, Limits: Limits{Timeout: time.Second}}
	if r, err := v.VerifyARC(ctx, strings.NewReader(two+one+msg)); err != nil || r.Result != ResultPass || r.OldestPass != 1 {
		f.Fatalf("seed chain: %+v %v", r, err)
	}
	f.Fuzz(func(t *testing.T, m string) {
		r, err := v.VerifyARC(ctx, strings.NewReader(m))
		if err != nil {
			return // a header over the limits
		}
		switch r.Result {
		case ResultNone:
			if len(r.Sets) != 0 {
				t.Fatalf("none with sets: %+v", r)
			}
		case ResultPass:
			if len(r.Sets) == 0 || len(r.Sets) > arcMaxInstance || r.OldestPass < 1 || r.OldestPass > len(r.Sets) {
				t.Fatalf("pass: %+v", r)
			}
			for i, s := range r.Sets {
				if s.Instance != i+1 || s.Sealer != "fwd.test" {
					t.Fatalf("pass with set %d: %+v", i, s)
				}
			}
		case ResultFail:
			if r.Reason == "" {
				t.Fatalf("fail without a reason")
			}
		default:
			t.Fatalf("status %q", r.Result)
		}
	})
}

// FuzzBodyCanon checks the streaming body canonicalization: the same
// output however the body is split into writes, and a relaxed body with
// no whitespace before a line end and no empty line at the end.
func FuzzBodyCanon(f *testing.F) {
	f.Add([]byte("a  b \t\r\n\r\n\r\n"), 3)
	f.Add([]byte("x\r"), 1)
	f.Add([]byte("\r\n\r\n"), 1)
	f.Add([]byte(" \n\t\n"), 2)
	f.Fuzz(func(t *testing.T, body []byte, split int) {
		for _, c := range []string{canonSimple, canonRelaxed} {
			var whole, parts bytes.Buffer
			w := newBodyCanon(&whole, c)
			w.Write(body)
			w.Close()
			p := newBodyCanon(&parts, c)
			if split < 0 {
				split = -split
			}
			if len(body) > 0 {
				split %= len(body) + 1
			} else {
				split = 0
			}
			p.Write(body[:split])
			p.Write(body[split:])
			p.Close()
			if !bytes.Equal(whole.Bytes(), parts.Bytes()) {
				t.Fatalf("%s: split at %d: %q vs %q", c, split, whole.Bytes(), parts.Bytes())
			}
			out := whole.Bytes()
			if c == canonRelaxed {
				if bytes.Contains(out, []byte(" \r\n")) || bytes.Contains(out, []byte("\t")) || bytes.HasSuffix(out, []byte("\r\n\r\n")) {
					t.Fatalf("relaxed: %q -> %q", body, out)
				}
			} else if !bytes.HasSuffix(out, []byte("\r\n")) || bytes.HasSuffix(out, []byte("\r\n\r\n")) && len(out) > 2 {
				t.Fatalf("simple: %q -> %q", body, out)
			}
		}
	})
}

// TestARCFiftySets seals one message 50 times: the chains of 1, 2, 10,
// 20 ... 50 sets validate, and the sealer refuses a 51st set (RFC 8617 section
// 4.2.1's limit); a 51st set added by hand fails the chain.
func TestARCFiftySets(t *testing.T) {
	t.Parallel()
	key, res := arcFuzzKey()
	key.Signer = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	ctx := context.Background()
	v := &Verifier{Resolver: res}
	s := &ARCSealer{Key: key, AuthservID: "mx.fwd.test"}
	msg := "From: a@origin.test\r\nSubject: s\r\n\r\nbody\r\n"
	r := ARCResult{Result: ResultNone}
	for i := 1; i <= arcMaxInstance; i++ {
		set, err := s.Seal(ctx, strings.NewReader(msg), &Results{ARC: r})
		if err != nil || set == "" {
			t.Fatalf("set %d: %q %v", i, set, err)
		}
		msg = set + msg
		r = ARCResult{Result: ResultPass}
		if i <= 2 || i%10 == 0 {
			if r, err = v.VerifyARC(ctx, strings.NewReader(msg)); err != nil || r.Result != ResultPass || len(r.Sets) != i || r.OldestPass != 1 {
				t.Fatalf("after set %d: %+v %v", i, r, err)
			}
		}
	}
	if set, err := s.Seal(ctx, strings.NewReader(msg), &Results{ARC: r}); err != nil || set != "" {
		t.Fatalf("a 51st set was added: %q %v", set, err)
	}
	extra := strings.NewReplacer("i=50", "i=51").Replace(msg[:strings.Index(msg, "ARC-Seal: i=49")])
	if r, _ := v.VerifyARC(ctx, strings.NewReader(extra+msg)); r.Result != ResultFail || !strings.Contains(r.Reason, "i= out of range") {
		t.Fatalf("51 sets: %+v", r)
	}
}

// FuzzBodyHashMatchesGoMsgauth compares msgauth's body canonicalization
// with go-msgauth's (the library's signer puts its body hash in bh=), in
// both forms, on bodies without bare CRs (where the two differ on
// purpose: go-msgauth holds a bare CR back like a line end).
func FuzzBodyHashMatchesGoMsgauth(f *testing.F) {
	f.Add([]byte("a  b \t\r\n\r\n\r\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n x\n"))
	f.Add([]byte("no end"))
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.ReplaceAll(body, []byte("\r"), nil)
		for _, c := range []dkim.Canonicalization{dkim.CanonicalizationSimple, dkim.CanonicalizationRelaxed} {
			var sig bytes.Buffer
			msg := append([]byte("From: a@b.test\r\n\r\n"), body...)
			if err := dkim.Sign(&sig, bytes.NewReader(msg), &dkim.SignOptions{Domain: "b.test", Selector: "s", Signer: key, BodyCanonicalization: c}); err != nil {
				t.Fatal(err)
			}
			_, rest, _ := strings.Cut(sig.String(), "bh=")
			want, _, _ := strings.Cut(rest, ";")
			h := newBodyHash(string(c))
			h.Write(body)
			if got := base64.StdEncoding.EncodeToString(h.digest()); got != stripFWS(want) {
				t.Fatalf("%s %q: %s, go-msgauth %s", c, body, got, want)
			}
		}
	})
}

// FuzzDKIMVerifyMatchesGoMsgauth signs messages with go-msgauth
// (simple and relaxed header canonicalization, every field signed) and
// checks that msgauth's verifier gives go-msgauth's own verdict on the
// signed message and on a copy with its header fields re-spaced.
func FuzzDKIMVerifyMatchesGoMsgauth(f *testing.F) {
	f.Add("Subject:  a  b \r\nTo: x@y\r\n\t z\r\n", "body \r\n")
	f.Add("X-A: 1\r\nX-A: 2\r\n", "")
	f.Add("subject:\tq\r\n", "\r\n\r\n")
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	rec, _ := TXTRecord(key.Public())
	res := staticResolver{txt: map[string][]string{"s._domainkey.b.test": {rec}}}
	v := &Verifier{Resolver: res}
	f.Fuzz(func(t *testing.T, hdr, body string) {
		if strings.Contains(hdr, "\r\n\r\n") || strings.Contains(hdr, "\n\n") || strings.ContainsAny(hdr+body, "\r") && strings.Count(hdr+body, "\r") != strings.Count(hdr+body, "\r\n") {
			return
		}
		head := "From: a@b.test\r\n" + hdr
		if !strings.HasSuffix(head, "\r\n") {
			head += "\r\n"
		}
		_, fields, err := readHeader(bufioReader(head+"\r\n"), 1<<20, 100)
		if err != nil {
			return
		}
		var names []string
		for _, fl := range fields {
			if fl.Name == "" || strings.ContainsAny(fl.Name, " \t:;\r\n") || !strings.Contains(fl.Raw, ":") {
				return
			}
			names = append(names, fl.Name)
		}
		msg := head + "\r\n" + body
		for _, c := range []dkim.Canonicalization{dkim.CanonicalizationSimple, dkim.CanonicalizationRelaxed} {
			var sig bytes.Buffer
			if err := dkim.Sign(&sig, strings.NewReader(msg), &dkim.SignOptions{Domain: "b.test", Selector: "s", Signer: key,
				HeaderCanonicalization: c, BodyCanonicalization: c, HeaderKeys: names}); err != nil {
				return
			}
			signed := sig.String()
			for _, m := range []string{signed, strings.Replace(signed, ": ", ":  ", -1)} {
				theirs, err := dkim.VerifyWithOptions(strings.NewReader(m), &dkim.VerifyOptions{LookupTXT: func(n string) ([]string, error) {
					return res.LookupTXT(context.Background(), n)
				}})
				if err != nil || len(theirs) == 0 {
					continue
				}
				ours, err := v.VerifyDKIM(context.Background(), strings.NewReader(m))
				if err != nil || len(ours) == 0 {
					t.Fatalf("ours: %v %v", ours, err)
				}
				if (theirs[0].Err == nil) != (ours[0].Result == ResultPass) {
					t.Fatalf("%s: go-msgauth %v, msgauth %s (%s)\n%q", c, theirs[0].Err, ours[0].Result, ours[0].Reason, m)
				}
			}
		}
	})
}
