package imap

import (
	"bytes"
	"testing"
)

// FuzzACLFile: any dovecot-acl file parses without panic within its
// limits, and what formatACLFile writes of it parses back to the same
// entries.
func FuzzACLFile(f *testing.F) {
	for _, s := range []string{
		"owner akxeilprwts\n-user=alice w\nuser=bob lr\n-user=bob i\n",
		"group=grp lr\nuser=alice aet\nuser=bob \ngroup-override=grp2 lr\n",
		"# comment\n\nanyone lr :named\r\nauthenticated r\nuser= x\nbogus lr\n-owner\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseACLFile(data)
		if err != nil {
			return
		}
		if len(entries) > maxACLEntries {
			t.Fatalf("%d entries", len(entries))
		}
		out := formatACLFile(entries)
		again, err := parseACLFile(out)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, out)
		}
		if !bytes.Equal(formatACLFile(again), out) {
			t.Fatalf("not stable:\n%s\n---\n%s", out, formatACLFile(again))
		}
		for _, e := range entries {
			myRights([]ACLEntry{e}, "alice")
			ParseRights(e.Rights.String())
		}
	})
}
