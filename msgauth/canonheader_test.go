package msgauth

import (
	"strings"
	"testing"
)

// TestCanonHeaderSimpleRule: the allocation-free simple form equals the
// rule it replaced (every line end CRLF, a final CRLF added) on fields
// with bare CRs, bare LFs, CRCRLF and no final line end.
func TestCanonHeaderSimpleRule(t *testing.T) {
	old := func(raw string) string {
		s := strings.ReplaceAll(raw, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\n", "\r\n")
		if !strings.HasSuffix(s, "\r\n") {
			s += "\r\n"
		}
		return s
	}
	atoms := []string{"Subject: a", "\r\n", "\n", "\r", " \t", "x", "\r\r\n", ""}
	var cases []string
	for _, a := range atoms {
		for _, b := range atoms {
			for _, c := range atoms {
				cases = append(cases, a+b+c)
			}
		}
	}
	for _, raw := range cases {
		if got, want := canonHeader(raw, canonSimple), old(raw); got != want {
			t.Errorf("%q: got %q, want %q", raw, got, want)
		}
	}
	if got := canonHeader("SUBJECT :  a \r\n\tb  \r\n", canonRelaxed); got != "subject:a b\r\n" {
		t.Errorf("relaxed: %q", got)
	}
}

// TestWithoutBRule: withoutB equals the split-and-join rule it replaced
// on fields with b= first, last, folded, repeated, empty and absent.
func TestWithoutBRule(t *testing.T) {
	for _, raw := range []string{
		"DKIM-Signature: v=1; a=rsa-sha256; b=abc\r\n def; bh=xyz; d=x\r\n",
		"DKIM-Signature: b=abc; v=1\r\n",
		"DKIM-Signature: v=1; b=abc\r\n",
		"DKIM-Signature: v=1; b=\r\n",
		"DKIM-Signature: v=1; b =x; \tb\r\n =y;;\r\n",
		"DKIM-Signature: v=1; bh=abc",
		"no colon b=x",
		"X: b=x;b=;b=y",
		"X:",
		"X:;",
		"X: =b; b",
	} {
		if got, want := withoutB(raw), withoutBSplit(raw); got != want {
			t.Errorf("%q: got %q, want %q", raw, got, want)
		}
	}
}

// withoutBSplit is the split-and-join rule withoutB replaced.
func withoutBSplit(raw string) string {
	name, val, ok := strings.Cut(raw, ":")
	if !ok {
		return raw
	}
	parts := strings.Split(val, ";")
	for i, p := range parts {
		eq := strings.IndexByte(p, '=')
		if eq < 0 {
			continue
		}
		if stripFWS(p[:eq]) == "b" {
			parts[i] = p[:eq+1]
		}
	}
	return name + ":" + strings.Join(parts, ";")
}

// FuzzWithoutB: withoutB equals the split-and-join rule.
func FuzzWithoutB(f *testing.F) {
	f.Add("DKIM-Signature: v=1; b=abc\r\n def; bh=x")
	f.Add("X: b =x; \tb\r\n =y;;")
	f.Fuzz(func(t *testing.T, raw string) {
		if got, want := withoutB(raw), withoutBSplit(raw); got != want {
			t.Fatalf("%q: got %q, want %q", raw, got, want)
		}
	})
}
