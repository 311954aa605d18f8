package imap

import (
	"strings"
	"testing"
)

// TestListMyRights: LIST ... RETURN (MYRIGHTS) (RFC 8440) follows each
// selectable mailbox's LIST (and STATUS) response with its MYRIGHTS;
// without Server.ACL the option is unknown and LIST-MYRIGHTS is not
// advertised.
func TestListMyRights(t *testing.T) {
	root := t.TempDir()
	env := newTestEnvAt(t, root, func(s *Server) { s.ACL = testFileACL(root) })
	c := env.login(t, "alice", "secret")
	for _, cmd := range []string{`CREATE a/b`, `SETACL a/b owner lrsa`, `SETACL Trash -alice w`, `SETACL Trash bob r`} {
		if _, tagged := c.cmd(cmd); !strings.HasPrefix(tagged, "OK") {
			t.Fatalf("%s: %s", cmd, tagged)
		}
	}
	untagged, tagged := c.cmd(`LIST "" * RETURN (MYRIGHTS STATUS (MESSAGES))`)
	got := strings.Join(untagged, "\n")
	for _, want := range []string{
		"* LIST () \"/\" \"a/b\"\n* STATUS \"a/b\" (MESSAGES 0)\n* MYRIGHTS \"a/b\" lrsa",
		"* MYRIGHTS \"INBOX\" lrwstipekxacd",
		"* MYRIGHTS \"Trash\" lrstipekxacd",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, `MYRIGHTS "a" `) {
		t.Errorf("MYRIGHTS for a name that is only a parent:\n%s", got)
	}
	if !strings.HasPrefix(tagged, "OK") {
		t.Errorf("tagged %s", tagged)
	}
	caps, _ := c.cmd("CAPABILITY")
	if !strings.Contains(caps[0], " LIST-MYRIGHTS") || !strings.Contains(caps[0], " ACL ") {
		t.Errorf("capabilities %s", caps[0])
	}

	plain := newTestEnv(t, nil).login(t, "alice", "secret")
	if _, tagged := plain.cmd(`LIST "" * RETURN (MYRIGHTS)`); !strings.HasPrefix(tagged, "BAD") {
		t.Errorf("without ACL: %s", tagged)
	}
	if caps, _ := plain.cmd("CAPABILITY"); strings.Contains(caps[0], "MYRIGHTS") || strings.Contains(caps[0], " ACL") {
		t.Errorf("without ACL, capabilities %s", caps[0])
	}
	if _, tagged := plain.cmd(`MYRIGHTS INBOX`); !strings.HasPrefix(tagged, "BAD") {
		t.Errorf("MYRIGHTS without ACL: %s", tagged)
	}
}
