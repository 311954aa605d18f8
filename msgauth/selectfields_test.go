package msgauth

import (
	"slices"
	"strings"
	"testing"
)

// selectFieldsMap is selectFields as it was, one map and one lower-cased
// copy per name: the reference the allocation-free one must equal.
func selectFieldsMap(fields []field, names []string) []field {
	idx := map[string][]int{}
	for i, f := range fields {
		n := strings.ToLower(f.Name)
		idx[n] = append(idx[n], i)
	}
	used := map[string]int{}
	var out []field
	for _, n := range names {
		ln := strings.ToLower(n)
		pos := idx[ln]
		if k := used[ln]; k < len(pos) {
			out = append(out, fields[pos[len(pos)-1-k]])
		}
		used[ln]++
	}
	return out
}

// FuzzSelectFields: fieldIndex and selectFields pick the same fields, in
// the same order, as the map-per-name rule, for any names (capitals,
// non-ASCII, repeats, oversigning, names longer than the key buffer).
func FuzzSelectFields(f *testing.F) {
	f.Add("From:To:Subject:Date:From:DKIM-Signature:X-ÉTÉ", "from:To:TO:subject:from:from:x-été:"+strings.Repeat("a", 70))
	f.Add("A:b:B:a", "a:A:b:b:b:c")
	f.Fuzz(func(t *testing.T, header, h string) {
		var fields []field
		for i, n := range strings.Split(header, ":") {
			fields = append(fields, field{Name: n, Raw: n + ": " + strings.Repeat("v", i) + "\r\n"})
		}
		names := strings.Split(h, ":")
		got := selectFields(fields, fieldIndex(fields), names)
		want := selectFieldsMap(fields, names)
		if !slices.Equal(got, want) {
			t.Fatalf("header %q h=%q: got %q, want %q", header, h, got, want)
		}
	})
}
