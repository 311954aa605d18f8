package msgauth

import (
	"context"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// dkimCorpus is the set of messages signed and verified both ways. A
// message without a final line break is not in it: over SMTP every
// message ends in CRLF, and opendkim's test mode reads such a file as
// unsigned.
func dkimCorpus() map[string]string {
	longSubject := strings.Repeat("very long subject ", 120)
	folded := "To: a@example.org,\r\n\tb@example.org,\r\n   c@example.org ,\r\n\t\td@example.org\r\n"
	big := strings.Repeat(strings.Repeat("x", 997)+"\r\n", 100)
	h := "From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: test\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n"
	return map[string]string{
		"simple":         h + "\r\nHello.\r\n",
		"8bit-body":      h + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nこんにちは、世界。\r\nÄÖÜ \xe2\x82\xac\r\n",
		"8bit-header":    "From: =?utf-8?q?=E9?= <alice@example.test>\r\nTo: bob@example.org\r\nSubject: 郵便のテスト\r\n\r\nbody\r\n",
		"long-header":    "From: alice@example.test\r\nSubject: " + longSubject + "\r\nTo: bob@example.org\r\n\r\nbody\r\n",
		"folded-headers": "From: alice@example.test\r\n" + folded + "Subject: folded\r\n   continues here\r\n\tand here\r\n\r\nbody\r\n",
		"empty-body":     h + "\r\n",
		"header-only":    h,
		"trailing-blank": h + "\r\nbody\r\n\r\n\r\n\r\n",
		"trailing-ws":    h + "\r\nline with spaces   \r\n\ttabs\t\t\r\n   \r\nend\r\n",
		"inner-ws":       h + "\r\na  \t  b\r\n  leading\r\n",
		"bare-lf":        strings.ReplaceAll(h+"\r\nline one\r\nline two\r\n", "\r\n", "\n"),
		"only-crlfs":     h + "\r\n\r\n\r\n\r\n",
		"two-to":         "From: alice@example.test\r\nTo: a@example.org\r\nTo: b@example.org\r\nSubject: two\r\n\r\nbody\r\n",
		"odd-spacing":    "from:alice@example.test\r\nSUBJECT  :   spaced    out   \r\nto:\tbob@example.org\r\n\r\nbody\r\n",
		"100k-body":      h + "\r\n" + big,
		"dot-lines":      h + "\r\n.\r\n..\r\n. \r\n",
		"mime-multipart": "From: alice@example.test\r\nTo: bob@example.org\r\nSubject: mp\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\npart\r\n--XX--\r\n",
	}
}

// tamper changes the body (or, with no body, adds one).
func tamper(msg string) string {
	if i := strings.Index(msg, "\r\n\r\n"); i >= 0 {
		return msg + "tampered\r\n"
	}
	if i := strings.Index(msg, "\n\n"); i >= 0 {
		return msg + "tampered\n"
	}
	return msg + "\r\ntampered\r\n"
}

// TestOpenDKIMVerifiesYubinSignatures signs the corpus with yubin (RSA,
// Ed25519, and both at once) and has the real opendkim verify each
// message, its body-tampered copy and a copy with a second From field
// added (oversigning): opendkim's verdict must equal yubin's own
// verifier's, and the untouched messages must pass.
func TestOpenDKIMVerifiesYubinSignatures(t *testing.T) {
	t.Parallel()
	keys := newTestKeys(t, "example.test")
	ns := startDNS(t, map[string]string{"example.test.": keys.zone})
	od := testutil.NewOpenDKIM(t, ns.Addr)
	ver := &Verifier{Resolver: ns.Resolver()}
	ctx := context.Background()
	sets := map[string][]*Key{"rsa": {keys.rsaKey()}, "ed25519": {keys.edKey()}, "dual": {keys.rsaKey(), keys.edKey()}}
	for name, msg := range dkimCorpus() {
		for set, ks := range sets {
			s := &Signer{Keys: DomainKeys{"example.test": ks}}
			sig, err := s.Sign(ctx, strings.NewReader(msg))
			if err != nil {
				t.Fatalf("%s/%s: sign: %v", name, set, err)
			}
			if n := strings.Count(sig, "DKIM-Signature:"); n != len(ks) {
				t.Fatalf("%s/%s: %d signatures, want %d", name, set, n, len(ks))
			}
			variants := map[string]string{
				"signed":     sig + msg,
				"tampered":   sig + tamper(msg),
				"added-from": "From: mallory@evil.example\r\n" + sig + msg,
			}
			if strings.Contains(msg, "\r\n") {
				// A From added below the signed ones (oversigned) too.
				i := strings.Index(msg, "\r\n") + 2
				variants["added-from-below"] = sig + msg[:i] + "From: mallory@evil.example\r\n" + msg[i:]
			}
			for vname, m := range variants {
				want := vname == "signed"
				od := od.Verify(t, []byte(m))
				res, err := ver.VerifyDKIM(ctx, strings.NewReader(m))
				if err != nil {
					t.Fatalf("%s/%s/%s: verify: %v", name, set, vname, err)
				}
				yubinPass := len(res) > 0
				for _, r := range res {
					if r.Result != ResultPass {
						yubinPass = false
					}
				}
				if od.Pass != yubinPass {
					t.Errorf("%s/%s/%s: opendkim pass=%v, yubin %+v\nopendkim: %s", name, set, vname, od.Pass, res, od.Output)
				}
				if od.Pass != want {
					t.Errorf("%s/%s/%s: opendkim pass=%v, want %v: %s", name, set, vname, od.Pass, want, od.Output)
				}
			}
		}
	}
}

// TestOpenDKIMSignaturesVerifiedByYubin has the real opendkim sign the
// corpus with an RSA and with an Ed25519 key published in NSD and checks
// that yubin's verifier passes them, and fails them (as opendkim does)
// once the body is changed.
func TestOpenDKIMSignaturesVerifiedByYubin(t *testing.T) {
	t.Parallel()
	keys := newTestKeys(t, "example.test")
	ns := startDNS(t, map[string]string{"example.test.": keys.zone})
	od := testutil.NewOpenDKIM(t, ns.Addr)
	ver := &Verifier{Resolver: ns.Resolver()}
	ctx := context.Background()
	for name, msg := range dkimCorpus() {
		for _, k := range []struct{ sel, file, conf string }{
			{"yrsa", keys.rsaFile, ""},
			{"yed25519", keys.edFile, "SignatureAlgorithm ed25519-sha256\n"},
		} {
			sig := od.Sign(t, []byte(msg), "example.test", k.sel, k.file, k.conf)
			for vname, m := range map[string]string{"signed": sig + msg, "tampered": sig + tamper(msg)} {
				res, err := ver.VerifyDKIM(ctx, strings.NewReader(m))
				if err != nil || len(res) != 1 {
					t.Fatalf("%s/%s/%s: verify: %v %+v", name, k.sel, vname, err, res)
				}
				odv := od.Verify(t, []byte(m))
				if (res[0].Result == ResultPass) != odv.Pass {
					t.Errorf("%s/%s/%s: yubin %+v, opendkim pass=%v: %s", name, k.sel, vname, res[0], odv.Pass, odv.Output)
				}
				if want := vname == "signed"; (res[0].Result == ResultPass) != want {
					t.Errorf("%s/%s/%s: yubin %s (%s), want pass=%v\n%s", name, k.sel, vname, res[0].Result, res[0].Reason, want, sig)
				}
			}
		}
	}
}
