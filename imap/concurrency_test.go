package imap

import (
	"strings"
	"testing"
	"time"
)

// Two sessions on one mailbox see each other's changes: EXISTS on NOOP,
// FETCH FLAGS for flag changes, EXPUNGE — but never an EXPUNGE during
// FETCH, STORE or SEARCH by sequence number, whose numbers stay valid.
func TestTwoSessionsSeeEachOther(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	for i := 0; i < 3; i++ {
		a.appendRaw("INBOX", "Subject: m\r\n\r\nbody\r\n")
	}
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")

	b.appendRaw("INBOX", "Subject: new\r\n\r\nnew\r\n")
	// The new message is \Recent in a (its store saw it first).
	if got := noopUntil(a); strings.Join(got, "|") != "* 4 EXISTS|* 4 RECENT" {
		t.Fatalf("NOOP after append: %q", got)
	}
	b.ok("STORE 2 +FLAGS.SILENT (\\Flagged)")
	if got := noopUntil(a); strings.Join(got, "|") != `* 2 FETCH (UID 2 FLAGS (\Flagged \Recent))` {
		t.Fatalf("NOOP after store: %q", got)
	}
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	// a's FETCH by sequence number still sees message 1 (no EXPUNGE now).
	got := a.ok("FETCH 1:4 (UID)")
	if strings.Join(got, "|") != "* 1 FETCH (UID 1)|* 2 FETCH (UID 2)|* 3 FETCH (UID 3)|* 4 FETCH (UID 4)" {
		t.Fatalf("FETCH during pending expunge: %q", got)
	}
	got = a.ok("SEARCH ALL")
	if strings.Join(got, "|") != "* SEARCH 1 2 3 4" {
		t.Fatalf("SEARCH during pending expunge: %q", got)
	}
	// The EXPUNGE arrives at NOOP, and sequence numbers shift.
	if got := noopUntilExpunge(a); strings.Join(got, "|") != "* 1 EXPUNGE|* 3 RECENT" {
		t.Fatalf("NOOP after expunge: %q", got)
	}
	got = a.ok("FETCH 1 (UID)")
	if strings.Join(got, "|") != "* 1 FETCH (UID 2)" {
		t.Fatalf("after expunge: %q", got)
	}
	// With QRESYNC the expunge is a VANISHED.
	a.ok("ENABLE QRESYNC")
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	if got := noopUntilExpunge(a); strings.Join(got, "|") != "* VANISHED 2|* 2 RECENT" {
		t.Fatalf("QRESYNC NOOP: %q", got)
	}
}

// IDLE is woken by another session's change and reports it.
func TestIdleWakesOnAppend(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	a.ok("SELECT INBOX")
	a.send("i IDLE")
	if l := a.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("idle: %q", l)
	}
	b.appendRaw("INBOX", "Subject: x\r\n\r\ny\r\n")
	if l := a.line(); l != "* 1 EXISTS" {
		t.Fatalf("idle update: %q", l)
	}
	if l := a.line(); l != "* 1 RECENT" {
		t.Fatalf("idle update: %q", l)
	}
	a.send("DONE")
	if l := a.line(); l != "i OK Idle completed." {
		t.Fatalf("idle end: %q", l)
	}
}

// withoutFetch drops FETCH responses: whether a session sees the
// \Deleted flag change before the expunge depends on timing.
func withoutFetch(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.Contains(l, " FETCH (") {
			out = append(out, l)
		}
	}
	return out
}

// noopUntil sends NOOP until it reports something (another Store's
// change reaches this one through inotify, asynchronously), for at most
// five seconds.
func noopUntil(c *client) []string {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := c.ok("NOOP")
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noopUntilExpunge is noopUntil that ignores FETCH responses and waits
// for the expunge report.
func noopUntilExpunge(c *client) []string {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := withoutFetch(c.ok("NOOP"))
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}
