package imap

import (
	"path/filepath"
	"strings"
	"testing"
)

// METADATA's limits answer with RFC 5464's response codes; without
// Server.Metadata the commands are unknown and not advertised.
func TestMetadataLimits(t *testing.T) {
	root := t.TempDir()
	env := newTestEnv(t, func(s *Server) {
		s.Metadata = &FileMetadata{Path: func(user string) string { return filepath.Join(root, user+".json") }}
		s.MetadataMaxSize = 5
		s.MetadataMaxEntries = 2
	})
	c := env.login(t, "alice", "secret")
	if l := c.ok("CAPABILITY"); !strings.Contains(l[0], " METADATA") {
		t.Errorf("METADATA not advertised: %s", l[0])
	}
	c.transcript(`
C: a1 SETMETADATA INBOX (/private/a "123456")
S: a1 NO [METADATA MAXSIZE 5] Metadata entry value too large.
C: a2 SETMETADATA INBOX (/private/a "1" /shared/b "2")
S: re:a2 OK .*
C: a3 SETMETADATA INBOX (/private/c "3")
S: a3 NO [METADATA TOOMANY] Too many metadata entries.
C: a4 SETMETADATA INBOX (/private/a NIL /private/c "3")
S: re:a4 OK .*
C: a6 SETMETADATA INBOX (/private "x")
S: a6 BAD Invalid metadata entry name.
`)
	if l := c.ok("GETMETADATA (DEPTH infinity) INBOX (/private /shared)"); len(l) != 1 || l[0] != "* METADATA INBOX (/private/c {1}\r\n3 /shared/b {1}\r\n2)" {
		t.Errorf("GETMETADATA: %q", l)
	}
	plain := newTestEnv(t, nil).login(t, "alice", "secret")
	if l := plain.ok("CAPABILITY"); strings.Contains(l[0], "METADATA") {
		t.Errorf("METADATA advertised without a store: %s", l[0])
	}
	plain.transcript(`
C: b1 GETMETADATA "" /private/comment
S: b1 BAD Unknown command.
`)
}
