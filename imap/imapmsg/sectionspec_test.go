package imapmsg

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSectionSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SectionSpec
		echo string
	}{
		{"", SectionSpec{}, ""},
		{"1", SectionSpec{Part: []int{1}}, "1"},
		{"1.2.3", SectionSpec{Part: []int{1, 2, 3}}, "1.2.3"},
		{"header", SectionSpec{Specifier: SpecHeader}, "HEADER"},
		{"TEXT", SectionSpec{Specifier: SpecText}, "TEXT"},
		{"2.MIME", SectionSpec{Part: []int{2}, Specifier: SpecMIME}, "2.MIME"},
		{"4.HEADER", SectionSpec{Part: []int{4}, Specifier: SpecHeader}, "4.HEADER"},
		{"HEADER.FIELDS (From To)", SectionSpec{Specifier: SpecHeaderFields, Fields: []string{"From", "To"}}, "HEADER.FIELDS (FROM TO)"},
		{"1.header.fields.not (\"X-A\" {3}\r\nX-B)", SectionSpec{Part: []int{1}, Specifier: SpecHeaderFieldsNot, Fields: []string{"X-A", "X-B"}}, "1.HEADER.FIELDS.NOT (X-A X-B)"},
	} {
		got, err := ParseSectionSpec(tc.in)
		if err != nil {
			t.Errorf("ParseSectionSpec(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSectionSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.String() != tc.echo {
			t.Errorf("String() = %q, want %q", got.String(), tc.echo)
		}
	}
}

func TestParseSectionSpecRejects(t *testing.T) {
	for _, in := range []string{
		"0", "1.0", "01", "1.", ".1", "1..2", "MIME", "1.BODY", "HEADER.FIELDS", "HEADER.FIELDS ()",
		"HEADER.FIELDS (A", "HEADER.FIELDS (A)x", "HEADER.FIELDS (A  B)", "HEADER.FIELDS (\"A:B\")",
		"4294967296", "TEXT.1", "1 ", "HEADER.FIELDS (\"unterminated)", "HEADER.FIELDS ({5}\r\nab)",
		strings.Repeat("1.", MaxSectionParts) + "1",
	} {
		if _, err := ParseSectionSpec(in); err != ErrBadSection {
			t.Errorf("ParseSectionSpec(%q) = %v, want ErrBadSection", in, err)
		}
	}
}

func FuzzParseSectionSpec(f *testing.F) {
	for _, s := range []string{"", "1.2", "HEADER.FIELDS (A B)", "1.HEADER.FIELDS.NOT (\"X\" {1}\r\nY)", "2.MIME", "TEXT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSectionSpec(s)
		if err != nil {
			return
		}
		// The echoed form parses back to the same section (field names
		// upper-cased).
		again, err := ParseSectionSpec(spec.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", spec.String(), s, err)
		}
		if again.String() != spec.String() {
			t.Fatalf("round trip %q -> %q", spec.String(), again.String())
		}
	})
}
