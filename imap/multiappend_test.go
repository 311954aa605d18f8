package imap

import (
	"strings"
	"testing"
	"time"
)

// TestMultiAppendAllOrNothing: when one message of a MULTIAPPEND fails,
// none of them stays (RFC 3502 3), whichever way it fails: a TOOBIG
// literal, a syntax error after some messages, a store error, a client
// that hangs up in the middle. The session that appended into its own
// selected mailbox and a second session watching it never see the
// messages, and a non-synchronizing literal left after the failure is
// skipped, never read as commands.
func TestMultiAppendAllOrNothing(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.AppendLimit = 100 })
	c := env.login(t, "alice", "secret")
	c.ok("SELECT INBOX")
	watcher := env.login(t, "alice", "secret")
	watcher.ok("SELECT INBOX")
	smuggled := "z1 CREATE Smuggled\r\n"

	// TOOBIG in the middle, LITERAL+ throughout; the third message's
	// body holds a command line.
	big := strings.Repeat("x", 200)
	c.send("a1 APPEND INBOX {12+}\r\nSubject: a\r\n (\\Seen) {200+}\r\n" + big + " {" + itoa(uint32(len(smuggled))) + "+}\r\n" + smuggled)
	if l := c.line(); !strings.HasPrefix(l, "a1 NO [TOOBIG]") {
		t.Fatalf("TOOBIG: %q", l)
	}
	// A syntax error after two messages.
	c.send("a2 APPEND INBOX {12+}\r\nSubject: a\r\n {12+}\r\nSubject: b\r\n (\\Bogus-Flag-Syntax {12+}\r\nSubject: c\r\n")
	if l := c.line(); !strings.HasPrefix(l, "a2 BAD") {
		t.Fatalf("syntax error: %q", l)
	}
	// Synchronizing literals: the second is refused before it is sent.
	c.send("a3 APPEND INBOX {12}")
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("continuation: %q", l)
	}
	c.send("Subject: a\r\n {200}")
	if l := c.line(); !strings.HasPrefix(l, "a3 NO [TOOBIG]") {
		t.Fatalf("sync TOOBIG: %q", l)
	}
	// The connection stays in step: nothing of the skipped literals ran.
	if lines := c.ok("NOOP"); len(lines) != 0 {
		t.Fatalf("after failed appends: %q", lines)
	}
	if lines := c.ok(`LIST "" Smuggled`); len(lines) != 0 {
		t.Fatalf("a literal was run as a command: %q", lines)
	}
	if lines := watcher.ok("NOOP"); len(lines) != 0 {
		t.Fatalf("another session saw rolled-back messages: %q", lines)
	}
	if lines := c.ok("STATUS INBOX (MESSAGES)"); lines[0] != `* STATUS "INBOX" (MESSAGES 0)` {
		t.Fatalf("after failed MULTIAPPENDs: %q", lines)
	}

	// A client that hangs up after one message and part of the second:
	// the server undoes the first once it sees the end of input.
	h := env.login(t, "alice", "secret")
	h.send("b1 APPEND Trash {12+}\r\nSubject: a\r\n {50+}\r\nSubject: cut")
	time.Sleep(50 * time.Millisecond)
	h.nc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := c.ok("STATUS Trash (MESSAGES UIDNEXT)")
		if strings.Contains(lines[0], "UIDNEXT 2") && strings.Contains(lines[0], "MESSAGES 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a hang-up in MULTIAPPEND: %q", lines)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// And a MULTIAPPEND that succeeds shows all its messages at once.
	c.send("a4 APPEND INBOX {12+}\r\nSubject: a\r\n {12+}\r\nSubject: b\r\n")
	if l := c.line(); l != "* 2 EXISTS" {
		t.Fatalf("after MULTIAPPEND: %q", l)
	}
	if l := c.line(); l != "* 2 RECENT" {
		t.Fatalf("after MULTIAPPEND: %q", l)
	}
	if l := c.line(); !strings.HasPrefix(l, "a4 OK [APPENDUID ") || !strings.HasSuffix(l, " 5:6] Append completed.") {
		t.Fatalf("MULTIAPPEND: %q", l)
	}
	if lines := watcher.ok("NOOP"); len(lines) != 2 || lines[0] != "* 2 EXISTS" {
		t.Fatalf("watcher after MULTIAPPEND: %q", lines)
	}
}
