package imap

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDovecotSharesMaildir runs yubin and Dovecot (doveadm) on one
// Maildir: a message Dovecot saves wakes yubin's IDLE, flags and
// expunges made by Dovecot reach yubin's session, and flags set through
// yubin are what Dovecot reads.
func TestDovecotSharesMaildir(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	d.Doveadm(t, []byte("From: a@example.org\nSubject: one\n\nfirst\n"), "save", "-u", "alice")
	env := newTestEnvAt(t, filepath.Join(d.Dir, "home"), nil)
	c := env.login(t, "alice", "secret")
	c.ok("SELECT INBOX")
	c.send("i IDLE")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("idle: %q", l)
	}
	d.Doveadm(t, []byte("From: b@example.org\nSubject: two\n\nsecond\n"), "save", "-u", "alice")
	if l := c.line(); l != "* 2 EXISTS" {
		t.Fatalf("IDLE after Dovecot delivery: %q", l)
	}
	if l := c.line(); l != "* 2 RECENT" {
		t.Fatalf("IDLE after Dovecot delivery: %q", l)
	}
	c.send("DONE")
	if l := c.line(); l != "i OK Idle completed." {
		t.Fatalf("idle end: %q", l)
	}
	c.ok("STORE 1 +FLAGS (\\Flagged)")
	out := d.Doveadm(t, nil, "fetch", "-u", "alice", "flags", "mailbox", "INBOX", "uid", "1")
	if !strings.Contains(out, `\Flagged`) {
		t.Fatalf("Dovecot does not see yubin's flag: %q", out)
	}
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Answered`, "mailbox", "INBOX", "uid", "2")
	got := waitNoop(c, func(l string) bool { return strings.Contains(l, `\Answered`) })
	if !strings.HasPrefix(got, "* 2 FETCH (UID 2 FLAGS (\\Answered") {
		t.Fatalf("Dovecot's flag change: %q", got)
	}
	d.Doveadm(t, nil, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", "1")
	if got := waitNoop(c, func(l string) bool { return strings.HasSuffix(l, " EXPUNGE") }); got != "* 1 EXPUNGE" {
		t.Fatalf("Dovecot's expunge: %q", got)
	}
	lines := c.ok("FETCH 1 (UID BODY.PEEK[TEXT])")
	if lines[0] != "* 1 FETCH (UID 2 BODY[TEXT] {8}\r\nsecond\r\n)" {
		t.Fatalf("after expunge: %q", lines)
	}
}

// waitNoop sends NOOP until a response line satisfies ok (five seconds
// at most) and returns that line.
func waitNoop(c *client, ok func(string) bool) string {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range c.ok("NOOP") {
			if ok(l) {
				return l
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ""
}
