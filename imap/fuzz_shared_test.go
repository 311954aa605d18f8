package imap

import (
	"maps"
	"strings"
	"testing"
)

// FuzzSharedDict: any shared dict file (Dovecot's acl_shared_dict =
// file:) parses without panic, writes back to the same entries, and
// the owners found for a user are single path levels.
func FuzzSharedDict(f *testing.F) {
	for _, s := range []string{
		"shared/shared-boxes/user/bob/alice\n1\nshared/shared-boxes/anyone/carol\n1\n",
		"shared/shared-boxes/group/staff/alice\n1\nshared/shared-boxes/user/bob/\n1\n",
		"shared/shared-boxes/user/bob/a/b\n1\ntorn",
		"",
	} {
		f.Add([]byte(s), "bob")
	}
	f.Fuzz(func(t *testing.T, data []byte, user string) {
		m := parseSharedDict(data)
		again := parseSharedDict(formatSharedDict(m))
		if !maps.Equal(m, again) {
			t.Fatalf("round trip: %q -> %q", m, again)
		}
		for _, o := range sharedOwnersIn(m, user) {
			if o == "" || strings.Contains(o, "/") {
				t.Fatalf("owner %q", o)
			}
		}
	})
}
