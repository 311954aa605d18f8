package msgauth

import (
	"bytes"
	"strings"
	"testing"
)

// stripAuthResultsCopy is StripAuthResults as it was (a lower-cased copy
// of the header searched first, then every field copied): the reference
// the copy-free one must equal.
func stripAuthResultsCopy(header []byte, authservID string) ([]byte, int) {
	if !bytes.Contains(bytes.ToLower(header), []byte("authentication-results")) {
		return header, 0
	}
	var out bytes.Buffer
	removed := 0
	for len(header) > 0 {
		n := fieldLen(header)
		f := header[:n]
		name, value, ok := bytes.Cut(f, []byte(":"))
		if ok && strings.EqualFold(strings.TrimRight(string(name), " \t"), "Authentication-Results") &&
			strings.EqualFold(AuthservID(unfold(string(value))), authservID) {
			removed++
		} else {
			out.Write(f)
		}
		header = header[n:]
	}
	return out.Bytes(), removed
}

// FuzzStripAuthResultsMatchesCopy: StripAuthResults keeps and removes
// exactly what the copying rule did, for any header bytes.
func FuzzStripAuthResultsMatchesCopy(f *testing.F) {
	f.Add([]byte("Subject: a\r\nAuthentication-Results: mx.example.org; spf=pass\r\nAUTHENTICATION-RESULTS : mx.example.org;\r\n none\r\nX: b\r\n\r\n"))
	f.Add([]byte("Authentication-Results-X: mx.example.org; none\nAuthentication-Results: other.example; none\n"))
	f.Fuzz(func(t *testing.T, hdr []byte) {
		got, n := StripAuthResults(hdr, "mx.example.org")
		want, wn := stripAuthResultsCopy(hdr, "mx.example.org")
		if n != wn || !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q (%d), want %q (%d)", hdr, got, n, want, wn)
		}
	})
}
