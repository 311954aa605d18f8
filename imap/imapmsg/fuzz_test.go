package imapmsg

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzParse parses arbitrary messages with small limits and exercises
// every output: no panic, BODY[] is the CRLF input, every section's
// announced length is what it yields, and BINARY either works or says
// ErrUnknownCTE.
func FuzzParse(f *testing.F) {
	for _, c := range corpus {
		f.Add(c.msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		m, err := Parse(strings.NewReader(msg), int64(len(msg)), Limits{MaxDepth: 8, MaxParts: 64, MaxHeaderBytes: 4096, MaxHeaderFields: 64})
		if err != nil {
			t.Fatal(err)
		}
		r := strings.NewReader(msg)
		var b bytes.Buffer
		if err := m.WriteEnvelope(&b); err != nil {
			t.Fatal(err)
		}
		if err := m.WriteBodyStructure(&b, true); err != nil {
			t.Fatal(err)
		}
		if err := m.WriteBodyStructure(&b, false); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"", "HEADER", "TEXT", "1", "1.MIME", "2.1", "1.2.HEADER", "HEADER.FIELDS (Subject)", "1.HEADER.FIELDS.NOT (To)"} {
			spec, err := ParseSectionSpec(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []*Partial{nil, {Offset: 3, Count: 5}} {
				rd, n, err := m.Section(r, spec, p)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rd)
				if err != nil || int64(len(got)) != n {
					t.Fatalf("[%s]: announced %d, read %d (%v)", s, n, len(got), err)
				}
				if s == "" && p == nil && string(got) != crlf(msg) {
					t.Fatalf("BODY[] is not the CRLF input")
				}
			}
		}
		for _, path := range [][]int{nil, {1}, {2}, {1, 1}} {
			rd, n, _, err := m.Binary(r, path, nil)
			if err == ErrUnknownCTE {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rd)
			if err != nil || int64(len(got)) != n {
				t.Fatalf("BINARY%v: announced %d, read %d (%v)", path, n, len(got), err)
			}
		}
		m.MatchHeader("Subject", "x")
		if _, err := m.MatchText(r, "zz"); err != nil {
			t.Fatal(err)
		}
		m.SentDate()
	})
}
