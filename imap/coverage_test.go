package imap

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTranscriptLessUsedCommands walks what the other transcripts leave
// out: APPENDLIMIT in CAPABILITY, SAVEDATE and OBJECTID in FETCH and
// SEARCH, QUOTA's three commands, CHECK, RENAME, SUBSCRIBE/LSUB, CLOSE
// expunging silently, and EXAMINE's read-only CLOSE.
func TestTranscriptLessUsedCommands(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.AppendLimit = 1000 })
	c := env.login(t, "alice", "secret")
	if caps := c.ok("CAPABILITY"); !strings.Contains(caps[0], " APPENDLIMIT=1000 ") {
		t.Fatalf("capabilities: %q", caps)
	}
	c.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	c.appendRaw("INBOX", "Subject: two\r\n\r\n2\r\n")
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1:2 (SAVEDATE EMAILID THREADID)")
	re := regexp.MustCompile(`^\* (\d) FETCH \(SAVEDATE "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [-+]\d{4}" EMAILID \(([A-Za-z0-9_-]{1,255})\) THREADID NIL\)$`)
	var ids []string
	for _, l := range lines {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("FETCH OBJECTID: %q", l)
		}
		ids = append(ids, m[2])
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("EMAILIDs %q", ids)
	}
	if got := c.ok("SEARCH EMAILID " + ids[1]); got[0] != "* SEARCH 2" {
		t.Fatalf("SEARCH EMAILID: %q", got)
	}
	if got := c.ok("SEARCH THREADID T1"); got[0] != "* SEARCH" {
		t.Fatalf("SEARCH THREADID: %q", got)
	}
	if got := c.ok("SEARCH SAVEDSINCE 1-Jan-2020 SAVEDATESUPPORTED"); got[0] != "* SEARCH 1 2" {
		t.Fatalf("SEARCH SAVEDSINCE: %q", got)
	}
	// Seed 003 1.5: the special-use mailboxes exist and are subscribed
	// from the first login (auto = subscribe).
	c.transcript(`
C: u1 LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)
S: * LIST (\Subscribed \Drafts) "/" "Drafts"
S: * LIST (\Subscribed \Junk) "/" "Junk"
S: * LIST (\Subscribed \Sent) "/" "Sent"
S: * LIST (\Subscribed \Trash) "/" "Trash"
S: u1 OK List completed.
`)
	c.transcript(`
C: q1 GETQUOTAROOT INBOX
S: * QUOTAROOT "INBOX" ""
S: q1 OK Getquotaroot completed.
C: q2 GETQUOTA ""
S: q2 OK Getquota completed.
C: q3 GETQUOTA "other"
S: q3 NO [NONEXISTENT] No such quota root.
C: q4 SETQUOTA "" (STORAGE 100)
S: q4 NO [NOPERM] Quota limits are set by the administrator.
C: q5 GETQUOTAROOT nosuch
S: q5 NO [NONEXISTENT] Mailbox doesn't exist.
C: k1 CHECK
S: k1 OK Check completed.
C: r1 CREATE Work/Old
S: r1 OK Create completed.
C: r2 RENAME Work Projects
S: r2 OK Rename completed.
C: r3 LIST "" "Projects*"
S: * LIST (\Noselect \HasChildren) "/" "Projects"
S: * LIST (\HasNoChildren) "/" "Projects/Old"
S: r3 OK List completed.
C: r4 RENAME nosuch other
S: r4 NO [NONEXISTENT] Mailbox doesn't exist.
C: s1 SUBSCRIBE Projects/Old
S: s1 OK Subscribe completed.
C: s2 LSUB "" "Projects/*"
S: * LSUB () "/" "Projects/Old"
S: s2 OK Lsub completed.
C: s3 UNSUBSCRIBE Projects/Old
S: s3 OK Unsubscribe completed.
C: s4 LSUB "" "Projects/*"
S: s4 OK Lsub completed.
C: d1 STORE 1 +FLAGS.SILENT (\Deleted)
S: d1 OK Store completed.
`)
	c.ok("EXAMINE INBOX")
	c.ok("CLOSE") // read-only: nothing expunged
	if got := c.ok("STATUS INBOX (MESSAGES)"); got[0] != `* STATUS "INBOX" (MESSAGES 2)` {
		t.Fatalf("after CLOSE of EXAMINE: %q", got)
	}
	c.ok("SELECT INBOX")
	if got := c.ok("CLOSE"); len(got) != 0 {
		t.Fatalf("CLOSE sent %q", got)
	}
	if got := c.ok("STATUS INBOX (MESSAGES)"); got[0] != `* STATUS "INBOX" (MESSAGES 1)` {
		t.Fatalf("after CLOSE: %q", got)
	}
	c.transcript(`
C: d8 CLOSE
S: d8 BAD No mailbox selected.
`)
}

// TestExpungeIssued: a FETCH of a message another session expunged
// (which this session has not been told yet) answers what it still can
// (NIL for content it has not parsed before) and OK [EXPUNGEISSUED], as
// Dovecot does; the EXPUNGE comes with the next command that may carry
// it.
func TestExpungeIssued(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	a.appendRaw("INBOX", "Subject: one\r\n\r\n1\r\n")
	a.appendRaw("INBOX", "Subject: two\r\n\r\n2\r\n")
	a.ok("SELECT INBOX")
	b := env.login(t, "alice", "secret")
	b.ok("SELECT INBOX")
	b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	b.ok("EXPUNGE")
	lines, st := a.cmd("FETCH 1:2 (BODY.PEEK[TEXT])")
	if !strings.HasPrefix(st, "OK [EXPUNGEISSUED]") || len(lines) != 2 || lines[0] != "* 1 FETCH (BODY[TEXT] NIL)" {
		t.Fatalf("FETCH of an expunged message: %q %q", lines, st)
	}
	for _, l := range lines {
		if strings.Contains(l, "EXPUNGE") && !strings.Contains(l, "FETCH") {
			t.Fatalf("EXPUNGE during FETCH: %q", lines)
		}
	}
	// Both messages were \Recent in a; one is left.
	if lines := a.ok("NOOP"); strings.Join(lines, "|") != "* 1 EXPUNGE|* 1 RECENT" {
		t.Fatalf("NOOP after: %q", lines)
	}
}

// TestAutologout: a logged-in client that says nothing for
// AutologoutTimeout is told BYE and disconnected (Dovecot's 30 minutes
// by default); one in IDLE as well.
func TestAutologout(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.AutologoutTimeout = 300 * time.Millisecond })
	c := env.login(t, "alice", "secret")
	if l := c.line(); l != "* BYE Disconnected for inactivity." {
		t.Fatalf("autologout: %q", l)
	}
	expectClosed(t, c)
	i := env.login(t, "alice", "secret")
	i.ok("SELECT INBOX")
	i.send("i IDLE")
	if l := i.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	expectClosed(t, i)
}
