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
