package testutil

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// ReplicaReaders returns what storetest.RunReplicaRead reads through
// Dovecot of alice's INBOX: fetch runs `doveadm -f flow fetch` of
// fields ("uid guid flags", or "uid flags" where Dovecot has GUIDs of
// its own) after giving home to the user Dovecot runs as, status
// `doveadm mailbox status` of uidnext and uidvalidity. Either fails the
// test when doveadm exits non-zero or writes to stderr (an index it had
// to repair, a file it could not parse; not the note of a changed
// UIDVALIDITY): yubin's files must open cleanly.
func (d *Dovecot) ReplicaReaders(t *testing.T, home, fields string) (fetch, status func() string) {
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(LookBinary("doveadm"), append([]string{"-c", d.Conf}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("doveadm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		var complaints []string
		for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			// A renumbering is a new UIDVALIDITY, which Dovecot's own
			// index of a Maildir (kept apart from the uidlist) notes.
			if l != "" && !strings.Contains(l, "UIDVALIDITY changed") {
				complaints = append(complaints, l)
			}
		}
		if e := strings.Join(complaints, "\n"); e != "" {
			t.Errorf("doveadm %s complained:\n%s", strings.Join(args, " "), e)
		}
		return stdout.String()
	}
	fetch = func() string {
		ChownTree(t, home, PlainUID, PlainGID)
		return run("-f", "flow", "fetch", "-u", "alice", fields, "mailbox", "INBOX")
	}
	status = func() string {
		return run("-f", "flow", "mailbox", "status", "-u", "alice", "uidnext uidvalidity", "INBOX")
	}
	return fetch, status
}
