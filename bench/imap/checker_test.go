package imapbench

import (
	"io"
	"strings"
	"testing"
)

// replay feeds a recorded session to a checker: "C: " lines are the
// client's commands, "S: " lines the server's replies (the four
// characters \r\n inside one stand for a CRLF, for literals); a command
// left unanswered at the end meets the end of the connection. It returns
// the protocol errors reported.
func replay(t *testing.T, script string, claims *recentClaims, private *privateBox, session int) []string {
	t.Helper()
	var errs []string
	k := newChecker(1, session, func(s string) { errs = append(errs, s) }, claims, private)
	for _, l := range strings.Split(strings.TrimSpace(script), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "C: "):
			k.send(strings.TrimPrefix(l, "C: "))
		case strings.HasPrefix(l, "S: "):
			k.receive([]byte(strings.ReplaceAll(strings.TrimPrefix(l, "S: "), `\r\n`, "\r\n") + "\r\n"))
		case l != "":
			t.Fatalf("bad script line %q", l)
		}
	}
	if k.cmd != nil {
		k.ended(io.EOF)
	}
	return errs
}

// goodSession is a session every rule is happy with: SELECT, a new
// keyword announced in FLAGS before a FETCH uses it, APPEND with the
// next UID, another session's expunge, UID FETCH, SEARCH, COPY, MOVE
// (COPYUID untagged, then the expunge), STATUS, LOGOUT.
const goodSession = `
C: a1 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
S: * 3 EXISTS
S: * 1 RECENT
S: * OK [UIDVALIDITY 77] UIDs valid
S: * OK [UIDNEXT 10] Predicted next UID
S: a1 OK [READ-WRITE] Select completed.
C: a2 FETCH 1:3 (UID FLAGS)
S: * 1 FETCH (UID 4 FLAGS (\Seen))
S: * 2 FETCH (UID 7 FLAGS ())
S: * 3 FETCH (UID 9 FLAGS (\Recent))
S: a2 OK Fetch completed.
C: a3 STORE 2 +FLAGS ($Label1)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1 \*)] Flags permitted.
S: * 2 FETCH (FLAGS ($Label1))
S: a3 OK Store completed.
C: a4 APPEND INBOX (\Seen) {5+}\r\nhello
S: * 4 EXISTS
S: a4 OK [APPENDUID 77 10] Append completed.
C: a5 NOOP
S: * 1 EXPUNGE
S: a5 OK NOOP completed.
C: a6 UID FETCH 9 (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])
S: * 2 FETCH (UID 9 RFC822.SIZE 5 BODY[HEADER.FIELDS (SUBJECT)] {12}\r\nSubject: x\r\n)
S: a6 OK Fetch completed.
C: a7 UID SEARCH UNSEEN
S: * SEARCH 7 10
S: a7 OK Search completed.
C: a8 SEARCH FLAGGED
S: * SEARCH 3
S: a8 OK Search completed.
C: a9 UID COPY 7 Archive
S: a9 OK [COPYUID 5 7 20] Copy completed.
C: a10 UID MOVE 9 Archive
S: * OK [COPYUID 5 9 21] Moved UIDs.
S: * 2 EXPUNGE
S: a10 OK Move completed.
C: a11 FETCH 2 (ENVELOPE INTERNALDATE)
S: * 2 FETCH (ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "hi" (("A" NIL "a" "example.org")) NIL NIL NIL NIL NIL NIL "<m@x>") INTERNALDATE " 1-Jan-2024 10:00:00 +0000")
S: a11 OK Fetch completed.
C: a12 STATUS Archive (MESSAGES UIDNEXT)
S: * STATUS Archive (MESSAGES 2 UIDNEXT 22)
S: a12 OK Status completed.
C: a13 LOGOUT
S: * BYE Logging out
S: a13 OK Logout completed.
`

// TestCheckerAcceptsValidSession: a valid session draws no protocol
// error, so that each injected violation below is the one reported.
func TestCheckerAcceptsValidSession(t *testing.T) {
	if errs := replay(t, goodSession, &recentClaims{}, nil, 1); len(errs) > 0 {
		t.Fatalf("protocol errors in a valid session: %q", errs)
	}
}

// TestCheckerFindsInjectedViolations replays goodSession with one reply
// changed into a protocol violation and checks the checker reports it.
func TestCheckerFindsInjectedViolations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string // the change to goodSession
		want     string // in the report
	}{
		{"keyword not in FLAGS",
			"S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)\nS: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted.\n", "",
			"$Label1, which the last FLAGS does not list"},
		{"EXPUNGE beyond EXISTS", "S: * 1 EXPUNGE", "S: * 5 EXPUNGE", "EXPUNGE 5, but EXISTS is 4"},
		{"wrong APPENDUID", "[APPENDUID 77 10]", "[APPENDUID 77 8]", "APPENDUID 8"},
		{"APPENDUID of another UIDVALIDITY", "[APPENDUID 77 10]", "[APPENDUID 78 10]", "APPENDUID's UIDVALIDITY 78"},
		{"missing tagged reply", "S: a13 OK Logout completed.", "", "no tagged reply"},
		{"tagged reply with another tag", "S: a5 OK NOOP completed.", "S: a5 OK NOOP completed.\nS: b5 OK what", "tagged reply \"b5\""},
		{"malformed line", "S: * 2 FETCH (FLAGS ($Label1))", "S: * 2 FETCH (FLAGS ($Label1)", "malformed reply"},
		{"malformed date", `" 1-Jan-2024 10:00:00 +0000"`, `"1-Jan-2024 10:00:00 +0000"`, "malformed reply"},
		{"bare LF", "S: a5 OK NOOP completed.", "S: * OK x\nS: a5 OK NOOP completed.", ""},
		{"EXISTS going down", "S: * 4 EXISTS", "S: * 2 EXISTS", "EXISTS 2, below the 3 messages known"},
		{"FETCH beyond EXISTS", "S: * 2 FETCH (FLAGS ($Label1))", "S: * 7 FETCH (FLAGS ($Label1))", "FETCH of message 7, but EXISTS is 3"},
		{"UID FETCH outside the set", "S: * 2 FETCH (UID 9 RFC822.SIZE", "S: * 1 FETCH (UID 7 RFC822.SIZE", "UID 7, not in the set asked"},
		{"UID FETCH without UID", "S: * 2 FETCH (UID 9 RFC822.SIZE", "S: * 2 FETCH (RFC822.SIZE", "without its UID"},
		{"UID changed", "S: * 2 FETCH (UID 9 RFC822.SIZE", "S: * 2 FETCH (UID 8 RFC822.SIZE", "has UID 8, but it was UID 9"},
		{"UIDs out of order", "S: * 2 FETCH (UID 7 FLAGS ())", "S: * 2 FETCH (UID 3 FLAGS ())", "not above message 1's UID 4"},
		{"EXPUNGE during FETCH", "S: * 2 FETCH (ENVELOPE", "S: * 1 EXPUNGE\nS: * 1 FETCH (ENVELOPE", "during FETCH"},
		{"SEARCH beyond EXISTS", "S: * SEARCH 3", "S: * SEARCH 4", "SEARCH found message 4, but EXISTS is 3"},
		{"UID SEARCH of an unknown UID", "S: * SEARCH 7 10", "S: * SEARCH 7 8", "UID 8, which no message known can have"},
		{"COPYUID sizes differ", "[COPYUID 5 7 20]", "[COPYUID 5 7 20:21]", "1 source UIDs and 2 destination"},
		{"MOVE without expunge", "S: * 2 EXPUNGE\nS: a10 OK Move", "S: a10 OK Move", "UID 9 was not expunged"},
		{"LOGOUT without BYE", "S: * BYE Logging out\n", "", "without an untagged BYE"},
		{"SELECT without UIDVALIDITY", "S: * OK [UIDVALIDITY 77] UIDs valid\n", "", "no UIDVALIDITY"},
		{"BAD to a valid command", "S: a5 OK NOOP completed.", "S: a5 BAD Error in IMAP command", "BAD Error"},
		{"gained \\Recent", "S: * 2 FETCH (FLAGS ($Label1))", "S: * 2 FETCH (FLAGS ($Label1 \\Recent))", "gained \\Recent"},
		{"PERMANENTFLAGS with \\Recent", "\\Draft \\*)] Flags permitted.\nS: * 3 EXISTS", "\\Draft \\Recent \\*)] Flags permitted.\nS: * 3 EXISTS", "PERMANENTFLAGS lists \\Recent"},
		{"unknown untagged reply", "S: * 1 EXPUNGE", "S: * 1 EXPUNGE\nS: * XYZZY 3", "unknown untagged reply"},
		{"RECENT beyond EXISTS", "S: * 1 RECENT", "S: * 4 RECENT", "RECENT 4 beyond EXISTS 3"},
		{"HIGHESTMODSEQ going down", "S: a5 OK NOOP completed.", "S: * OK [HIGHESTMODSEQ 5] x\nS: * OK [HIGHESTMODSEQ 4] x\nS: a5 OK NOOP completed.", "HIGHESTMODSEQ went down from 5 to 4"},
		{"MODSEQ without CONDSTORE", "S: * 2 FETCH (FLAGS ($Label1))", "S: * 2 FETCH (FLAGS ($Label1) MODSEQ (3))", "CONDSTORE is not enabled"},
		{"VANISHED without QRESYNC", "S: * 1 EXPUNGE", "S: * VANISHED 4", "QRESYNC is not enabled"},
		{"FETCH data unasked", "S: * 1 EXPUNGE", "S: * 1 EXPUNGE\nS: * 1 FETCH (RFC822.SIZE 5)", "unasked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(goodSession, tc.old) {
				t.Fatalf("goodSession has no %q", tc.old)
			}
			script := strings.Replace(goodSession, tc.old, tc.new, 1)
			if tc.name == "bare LF" {
				// a reply ending in LF alone, as readReply returns it
				var errs []string
				k := newChecker(1, 1, func(s string) { errs = append(errs, s) }, nil, nil)
				k.receive([]byte("* OK x\n"))
				if len(errs) != 1 || !strings.Contains(errs[0], "malformed") {
					t.Fatalf("reports %q", errs)
				}
				return
			}
			errs := replay(t, script, &recentClaims{}, nil, 1)
			if len(errs) == 0 {
				t.Fatalf("no protocol error reported")
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Fatalf("reports %q, want one with %q", errs, tc.want)
			}
		})
	}
}

// TestCheckerRecentInOneSession: RFC 3501 gives \Recent to one session;
// a second read-write session seeing it for the same UID is reported.
func TestCheckerRecentInOneSession(t *testing.T) {
	claims := &recentClaims{}
	s := `
C: a1 SELECT INBOX
S: * FLAGS (\Seen)
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UIDVALIDITY 5] x
S: a1 OK [READ-WRITE] x
C: a2 FETCH 1 (UID FLAGS)
S: * 1 FETCH (UID 3 FLAGS (\Recent))
S: a2 OK x
`
	if errs := replay(t, s, claims, nil, 1); len(errs) > 0 {
		t.Fatalf("first session: %q", errs)
	}
	errs := replay(t, s, claims, nil, 2)
	if len(errs) != 1 || !strings.Contains(errs[0], "in this session and in session 1") {
		t.Fatalf("second session reports %q", errs)
	}
}

// TestCheckerPrivateMailboxExact: in the client's private mailbox the
// checker knows the exact state; a SELECT, STATUS, SEARCH or STORE reply
// that disagrees is reported.
func TestCheckerPrivateMailboxExact(t *testing.T) {
	first := `
C: a1 SELECT mine
S: * FLAGS (\Seen \Flagged)
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY 9] x
S: * OK [UIDNEXT 3] x
S: a1 OK x
C: a2 FETCH 1:2 (UID FLAGS)
S: * 1 FETCH (UID 1 FLAGS (\Seen))
S: * 2 FETCH (UID 2 FLAGS ())
S: a2 OK x
C: a3 STORE 2 +FLAGS (\Flagged)
S: * 2 FETCH (FLAGS (\Flagged))
S: a3 OK x
C: a4 SEARCH UNSEEN
S: * SEARCH 2
S: a4 OK x
C: a5 LOGOUT
S: * BYE x
S: a5 OK x
`
	next := `
C: b1 STATUS mine (MESSAGES UIDNEXT UNSEEN RECENT)
S: * STATUS mine (MESSAGES 2 UIDNEXT 3 UNSEEN 1 RECENT 0)
S: b1 OK x
C: b2 SELECT mine
S: * FLAGS (\Seen \Flagged)
S: * 2 EXISTS
S: * 0 RECENT
S: * OK [UIDVALIDITY 9] x
S: * OK [UIDNEXT 3] x
S: b2 OK x
C: b3 APPEND mine {1+}\r\nx
S: b3 OK [APPENDUID 9 3] x
`
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"valid", "", "", ""},
		{"STATUS MESSAGES", "(MESSAGES 2 UIDNEXT 3 UNSEEN 1", "(MESSAGES 3 UIDNEXT 3 UNSEEN 1", "STATUS MESSAGES 3, but the mailbox has 2"},
		{"STATUS UNSEEN", "UIDNEXT 3 UNSEEN 1", "UIDNEXT 3 UNSEEN 2", "STATUS UNSEEN 2"},
		{"SELECT EXISTS", "S: * 2 EXISTS\nS: * 0 RECENT\nS: * OK [UIDVALIDITY 9] x\nS: * OK [UIDNEXT 3] x\nS: b2", "S: * 1 EXISTS\nS: * 0 RECENT\nS: * OK [UIDVALIDITY 9] x\nS: * OK [UIDNEXT 3] x\nS: b2", "EXISTS 1, but 2 messages were left"},
		{"APPENDUID not UIDNEXT", "[APPENDUID 9 3]", "[APPENDUID 9 5]", "new message's UID 5, but 3 was next"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &privateBox{name: "mine", created: true}
			claims := &recentClaims{}
			if errs := replay(t, first, claims, p, 1); len(errs) > 0 {
				t.Fatalf("first session: %q", errs)
			}
			p2 := strings.Replace(next, tc.old, tc.new, 1)
			errs := replay(t, p2, claims, p, 2)
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("valid session reports %q", errs)
				}
				return
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Fatalf("reports %q, want one with %q", errs, tc.want)
			}
		})
	}
	// Within one session: a STORE's reply and a SEARCH's result that do
	// not match the flags this client gave.
	for _, tc := range []struct{ old, new, want string }{
		{"S: * 2 FETCH (FLAGS (\\Flagged))", "S: * 2 FETCH (FLAGS (\\Seen \\Flagged))", "STORE made message 2's flags"},
		{"S: * SEARCH 2", "S: * SEARCH 1 2", "SEARCH found [1 2], but the messages with that flag are [2]"},
	} {
		p := &privateBox{name: "mine", created: true}
		errs := replay(t, strings.Replace(first, tc.old, tc.new, 1), &recentClaims{}, p, 1)
		if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
			t.Errorf("%s: reports %q, want one with %q", tc.new, errs, tc.want)
		}
	}
}
