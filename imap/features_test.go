package imap

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestTranscriptExtensions walks MULTIAPPEND, CONDSTORE, ESEARCH,
// SEARCHRES, UIDPLUS, MOVE, CREATE-SPECIAL-USE, LIST-EXTENDED,
// LIST-STATUS, STATUS=SIZE, NAMESPACE, ENABLE IMAP4rev2 and UNSELECT.
func TestTranscriptExtensions(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.transcript(`
C: a1 APPEND INBOX (\Seen) {12+}
C: Subject: a
C:  (\Flagged) {12+}
C: Subject: b
C:  {12+}
C: Subject: c
C:
S: re:a1 OK \[APPENDUID \d+ 1:3\] Append completed.
C: a2 SELECT INBOX (CONDSTORE)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 2] First unseen.
S: re:\* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S: re:\* OK \[HIGHESTMODSEQ \d+\] Highest
S: re:\* OK \[MAILBOXID \(M[0-9a-f]+\)\] Ok
S: a2 OK [READ-WRITE] Select completed.
C: a3 UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN
S: * ESEARCH (TAG "a3") UID MIN 2 MAX 3 ALL 2:3 COUNT 2
S: a3 OK Search completed.
C: a4 SEARCH RETURN (SAVE) FLAGGED
S: a4 OK Search completed.
C: a5 FETCH $ (UID FLAGS)
S: re:\* 2 FETCH \(UID 2 FLAGS \(\\Flagged \\Recent\) MODSEQ \(\d+\)\)
S: a5 OK Fetch completed.
C: a6 UID STORE 1:3 (UNCHANGEDSINCE 1) +FLAGS (\Answered)
S: a6 OK [MODIFIED 1:3] Conditional STORE failed.
C: a7 COPY 1:2 Trash
S: re:a7 OK \[COPYUID \d+ 1:2 1:2\] Copy completed.
C: a8 UID MOVE 3 Junk
S: re:\* OK \[COPYUID \d+ 3 1\] Moved UIDs.
S: * 3 EXPUNGE
S: * 2 RECENT
S: a8 OK Move completed.
C: a9 CREATE Work/Sub (USE (\Archive))
S: a9 OK Create completed.
C: a10 LIST (SPECIAL-USE) "" "*"
S: * LIST (\Drafts) "/" "Drafts"
S: * LIST (\Junk) "/" "Junk"
S: * LIST (\Sent) "/" "Sent"
S: * LIST (\Trash) "/" "Trash"
S: * LIST (\Archive) "/" "Work/Sub"
S: a10 OK List completed.
C: a11 LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN SIZE))
S: * LIST (\Drafts) "/" "Drafts"
S: * STATUS "Drafts" (MESSAGES 0 UNSEEN 0 SIZE 0)
S: * LIST () "/" "INBOX"
S: * STATUS "INBOX" (MESSAGES 2 UNSEEN 1 SIZE 24)
S: * LIST (\Junk) "/" "Junk"
S: * STATUS "Junk" (MESSAGES 1 UNSEEN 1 SIZE 12)
S: * LIST (\Sent) "/" "Sent"
S: * STATUS "Sent" (MESSAGES 0 UNSEEN 0 SIZE 0)
S: * LIST (\Trash) "/" "Trash"
S: * STATUS "Trash" (MESSAGES 2 UNSEEN 1 SIZE 24)
S: * LIST (\NonExistent) "/" "Work"
S: a11 OK List completed.
C: a12 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: a12 OK List completed.
C: a13 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: a13 OK Namespace completed.
C: a14 ENABLE IMAP4rev2 CONDSTORE
S: * ENABLED IMAP4rev2
S: a14 OK Enable completed.
C: a15 SEARCH UNSEEN
S: * ESEARCH (TAG "a15") ALL 2
S: a15 OK Search completed.
C: a16 STORE 1 +FLAGS (\Deleted)
S: re:\* 1 FETCH \(FLAGS \(\\Deleted \\Seen\) MODSEQ \(\d+\)\)
S: a16 OK Store completed.
C: a17 UID EXPUNGE 1
S: * 1 EXPUNGE
S: a17 OK Expunge completed.
C: a18 UNSELECT
S: a18 OK Unselect completed.
C: a19 CREATE "Entw&APw-rfe"
S: a19 OK Create completed.
C: a20 LIST "" "Entw*"
S: * LIST (\HasNoChildren) "/" "Entw&APw-rfe"
S: a20 OK List completed.
C: a21 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: a21 OK Enable completed.
C: a22 LIST "" "Entw*"
S: * LIST (\HasNoChildren) "/" "Entwürfe"
S: a22 OK List completed.
C: a23 SELECT nosuch
S: a23 NO [NONEXISTENT] Mailbox doesn't exist.
C: a24 COPY 1 nosuch
S: a24 BAD No mailbox selected.
C: a25 APPEND nosuch {3}
S: a25 NO [TRYCREATE] Mailbox doesn't exist.
C: a26 DELETE INBOX
S: a26 NO [CANNOT] INBOX can't be deleted.
C: a27 CREATE Trash
S: a27 NO [ALREADYEXISTS] Mailbox already exists.
`)
}

// AUTHENTICATE PLAIN with an initial response (SASL-IR) and without.
func TestAuthenticatePlain(t *testing.T) {
	env := newTestEnv(t, nil)
	ir := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	c := env.dial(t)
	c.ok("AUTHENTICATE PLAIN " + ir)
	c = env.dial(t)
	c.send("a AUTHENTICATE PLAIN")
	if l := c.line(); l != "+ " {
		t.Fatalf("challenge %q", l)
	}
	c.send(base64.StdEncoding.EncodeToString([]byte("\x00alice\x00wrong")))
	if l := c.line(); !strings.HasPrefix(l, "a NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("bad password: %q", l)
	}
	c.send("b AUTHENTICATE PLAIN")
	c.line()
	c.send("*")
	if l := c.line(); !strings.HasPrefix(l, "b BAD") {
		t.Fatalf("abort: %q", l)
	}
}

// SEARCH by sequence numbers beyond the mailbox finds nothing (as
// Dovecot answers) while FETCH of them is BAD.
func TestSearchBeyondMailbox(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.appendRaw("INBOX", "Subject: x\r\n\r\nx\r\n")
	c.ok("SELECT INBOX")
	if got := c.ok("SEARCH 4"); got[0] != "* SEARCH" {
		t.Fatalf("SEARCH 4: %q", got)
	}
	if got := c.ok("SEARCH 1:9"); got[0] != "* SEARCH 1" {
		t.Fatalf("SEARCH 1:9: %q", got)
	}
	if _, st := c.cmd("FETCH 5 FLAGS"); !strings.HasPrefix(st, "BAD") {
		t.Fatalf("FETCH 5: %q", st)
	}
}
