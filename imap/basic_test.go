package imap

import (
	"strings"
	"testing"
)

func TestTranscriptLoginSelect(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(t)
	c.transcript(`
C: a1 CAPABILITY
S: re:\* CAPABILITY IMAP4rev1 IMAP4rev2 .*AUTH=PLAIN.*
S: a1 OK Capability completed.
C: a2 LOGIN alice wrong
S: a2 NO [AUTHENTICATIONFAILED] Authentication failed.
C: a3 SELECT INBOX
S: a3 BAD Command not allowed before authentication.
C: a4 LOGIN alice secret
S: re:a4 OK \[CAPABILITY IMAP4rev1 IMAP4rev2 .*UIDPLUS.*\] Logged in
C: a5 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 0 EXISTS
S: * 0 RECENT
S: re:\* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 1] Predicted next UID
S: re:\* OK \[MAILBOXID \(M[0-9a-f]+\)\] Ok
S: a5 OK [READ-WRITE] Select completed.
C: a6 LOGOUT
S: * BYE Logging out
S: a6 OK Logout completed.
`)
}

func TestAppendFetchStoreExpunge(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	msg := "From: a@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
	c.send("a1 APPEND INBOX (\\Flagged) {" + itoa(uint32(len(msg))) + "}")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("continuation: %q", l)
	}
	c.send(msg)
	if l := c.line(); !strings.HasPrefix(l, "a1 OK [APPENDUID ") {
		t.Fatalf("append: %q", l)
	}
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1 (FLAGS UID RFC822.SIZE BODY.PEEK[])")
	want := "* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1 RFC822.SIZE " + itoa(uint32(len(msg))) + " BODY[] {" + itoa(uint32(len(msg))) + "}\r\n" + msg + ")"
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("fetch: %q\nwant %q", lines, want)
	}
	lines = c.ok("STORE 1 +FLAGS (\\Deleted)")
	if len(lines) != 1 || lines[0] != `* 1 FETCH (FLAGS (\Flagged \Deleted \Recent))` {
		t.Fatalf("store: %q", lines)
	}
	lines = c.ok("EXPUNGE")
	// The \Recent count changed too (RFC 3501 7.3.2, as Dovecot says).
	if len(lines) != 2 || lines[0] != "* 1 EXPUNGE" || lines[1] != "* 0 RECENT" {
		t.Fatalf("expunge: %q", lines)
	}
}
