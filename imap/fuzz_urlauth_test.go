package imap

import "testing"

// FuzzURLAuth: any string parses as a URLAUTH URL without panic; a full
// URL that parses is its rump, mechanism and token, and the rump parses
// alone to the same URL.
func FuzzURLAuth(f *testing.F) {
	for _, s := range []string{
		"imap://alice@localhost/INBOX;UIDVALIDITY=1/;UID=2/;SECTION=1.2;URLAUTH=authuser:INTERNAL:0123456789abcdef0123456789abcdef01234567",
		"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038",
		"imap://a;AUTH=*@h:143/%26AOQ-/;UID=1/;PARTIAL=0.10;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=user+b%40c",
		"imap://@/;URLAUTH=:::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, ok := parseURLAuth(s, true); ok {
			if u.rump+":"+u.mechanism+":"+u.token != s {
				t.Fatalf("%q: rump %q mech %q token %q", s, u.rump, u.mechanism, u.token)
			}
			r, ok := parseURLAuth(u.rump, false)
			if !ok || r.owner != u.owner || r.path != u.path || r.access != u.access || !r.expire.Equal(u.expire) {
				t.Fatalf("%q: rump %q parses as %+v, %v", s, u.rump, r, ok)
			}
		}
		parseURLAuth(s, false)
	})
}
