package imap

import (
	"strings"
	"testing"
)

// FuzzExtArgs feeds the argument parsers of the extensions (IMAP URLs of
// CATENATE, METADATA entry names, PARTIAL ranges): no panic, and what
// they accept is well formed.
func FuzzExtArgs(f *testing.F) {
	for _, s := range []string{
		"/INBOX;UIDVALIDITY=5/;UID=2/;SECTION=1.2.MIME/;PARTIAL=0.10",
		"imap://u;AUTH=*@host:143/a%20b/;UID=1",
		";UID=3/;SECTION=HEADER.FIELDS%20(SUBJECT)",
		"/private/vendor/x", "/shared", "-1:-50", "4294967295:1",
	} {
		f.Add(s)
	}
	c := &conn{user: "u", w: newWriter(nil), sel: &selected{name: "INBOX"}}
	f.Fuzz(func(t *testing.T, s string) {
		if u, ok := c.parseIMAPURL(s); ok && (u.uid == 0 || u.mailbox == "") {
			t.Fatalf("%q: accepted as %+v", s, u)
		}
		for _, set := range []bool{false, true} {
			if e, err := metadataEntry(s, set); err == nil && (!strings.HasPrefix(e, "/private") && !strings.HasPrefix(e, "/shared") || strings.Contains(e, "//")) {
				t.Fatalf("%q: entry %q accepted", s, e)
			}
		}
		if p, err := parsePartialRange(s); err == nil {
			for _, n := range []int{0, 1, 7, 1000} {
				if from, to := p.slice(n); from < 0 || to > n || from > to {
					t.Fatalf("%q over %d: [%d,%d)", s, n, from, to)
				}
			}
		}
	})
}
