package smtp

import (
	"strings"
	"testing"
)

// FuzzParseBURL: parseBURL never panics, and what it accepts is one
// bounded URL without spaces, NUL or DEL, with LAST only as a second
// word.
func FuzzParseBURL(f *testing.F) {
	for _, s := range []string{
		"imap://joe@example.org/INBOX;UIDVALIDITY=1/;UID=2;urlauth=submit+joe:internal:0123456789abcdef LAST",
		"imap://joe@example.org/INBOX/;UID=2",
		"x LAST extra",
		"", " ", "\x00", "a\x7fb last",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		url, last, ok := parseBURL(arg)
		if !ok {
			if url != "" || last {
				t.Fatalf("refused %q but returned %q, %v", arg, url, last)
			}
			return
		}
		if url == "" || len(url) > maxBURLLength || strings.ContainsAny(url, " \t\r\n\x00\x7f") {
			t.Fatalf("accepted URL %q from %q", url, arg)
		}
		if fields := strings.Fields(arg); last != (len(fields) == 2) {
			t.Fatalf("%q: last=%v with %d words", arg, last, len(fields))
		}
	})
}
