package imapbench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestParseReply: replies Dovecot and yubin send parse, with the fields
// the model uses; replies that break the formal syntax do not.
func TestParseReply(t *testing.T) {
	good := []string{
		"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready.",
		"c1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 UIDPLUS MOVE CONDSTORE QRESYNC] Logged in",
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 Work)",
		"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 Work \\*)] Flags permitted.",
		"* 300 EXISTS", "* 0 RECENT", "* 3 EXPUNGE",
		"* OK [UIDVALIDITY 1796694657] UIDs valid", "* OK [UIDNEXT 36] Predicted next UID",
		"* OK [HIGHESTMODSEQ 95] Highest", "* OK [NOMODSEQ] No permanent modsequences",
		"* OK [MAILBOXID (M6b176281)] Ok",
		"c2 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).",
		"* 1 FETCH (UID 17 FLAGS (\\Answered \\Seen $Label1) MODSEQ (90))",
		"* 14 FETCH (MODSEQ (97))",
		"* 3 FETCH (FLAGS (\\Seen \\Recent) UID 3 RFC822.SIZE 2743 BODY[HEADER.FIELDS (FROM TO SUBJECT)] {6}\r\nab\r\n\r\n)",
		"* 2 FETCH (BODY[] {3}\r\nabc BODY[TEXT]<0> NIL)",
		"* 2 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 28 1 NIL NIL NIL NIL))",
		"* 2 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) INTERNALDATE \"08-Dec-2026 01:55:00 +0000\")",
		"* 2 FETCH (BINARY[1] ~{2}\r\n\x00\x01 BINARY.SIZE[1] 2)",
		"* SEARCH", "* SEARCH 1 5 9", "* SEARCH 2 (MODSEQ 17)",
		"* ESEARCH (TAG \"c3\") UID ALL 1:3",
		"* LIST (\\HasNoChildren) \".\" load3", "* LIST (\\Noselect) NIL \"\"", "* LIST () \"/\" {3}\r\na b",
		"* STATUS load3 (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY 1796694521 UNSEEN 1)",
		"* OK [COPYUID 1796694521 86,91 6:7] Moved UIDs.",
		"c4 OK [APPENDUID 38505 3955] APPEND completed",
		"* VANISHED 3:5,9", "* VANISHED (EARLIER) 1", "* ENABLED QRESYNC",
		"* ID (\"name\" \"Dovecot\")", "* ID NIL", "* NAMESPACE ((\"\" \".\")) NIL NIL",
		"* BYE Logging out", "+ go ahead", "+", "c9 NO [EXPUNGEISSUED] Some messages were expunged",
		"c9 BAD Error in IMAP command", "c9 OK [ALERT] x", "c9 OK [BADCHARSET (UTF-8 \"x y\")] no",
	}
	for _, s := range good {
		if _, err := parseReply([]byte(s + "\r\n")); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{
		"* 1 FETCH (FLAGS (\\Seen)", "* 1 FETCH (FLAGS (\\Seen))  ", "* 1 FETCH (UID 0)", "* 0 EXPUNGE",
		"* 1 FETCH (FLAGS (\\*))", "* 1 FETCH (X-GM-LABELS ())", "* 1 FETCH (BODY[] \"a\rb\")",
		"* 1 FETCH (INTERNALDATE \"2026-12-08 01:55:00\")", "* 1 FETCH (BODY[] {9}\r\nab)",
		"* 1 FETCH (ENVELOPE (NIL NIL () NIL NIL NIL NIL NIL NIL NIL))",
		"* 1 FETCH (BODY[HEADER.FIELDS ()] NIL)", "* 1 FETCH (BODY[1.] NIL)",
		"* CAPABILITY FOO BAR", "* OK [UIDNEXT 0] x", "* OK [UIDNEXT x] x", "* OK [COPYUID 1 2] x",
		"* SEARCH 0", "* SEARCH 1  2", "* STATUS x (FOO 1)", "* LIST (\\X) \"ab\" x",
		"* XYZZY", "*", "", "c1 MAYBE x", "c1", "* 4294967296 EXISTS",
		"* 1 FETCH (MODSEQ (0))", "* FLAGS (\\Seen) ", "* ID (" + strings.Repeat("(", 40) + strings.Repeat(")", 41),
	}
	for _, s := range bad {
		if r, err := parseReply([]byte(s + "\r\n")); err == nil {
			t.Errorf("%q parsed as %+v", s, r)
		}
	}
	if _, err := parseReply([]byte("* 1 EXISTS\n")); err == nil {
		t.Error("a reply ending in LF alone parsed")
	}
}

// TestReadReplyLimits: readReply takes a reply with its literals, and
// stops with an error at a line or literal beyond its limits.
func TestReadReplyLimits(t *testing.T) {
	in := "* 1 FETCH (BODY[] {5}\r\nhello BODY[TEXT] {0}\r\n)\r\nc1 OK done\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	r1, err := readReply(br)
	if err != nil || string(r1) != "* 1 FETCH (BODY[] {5}\r\nhello BODY[TEXT] {0}\r\n)\r\n" {
		t.Fatalf("first reply %q, %v", r1, err)
	}
	if r2, err := readReply(br); err != nil || string(r2) != "c1 OK done\r\n" {
		t.Fatalf("second reply %q, %v", r2, err)
	}
	if _, err := readReply(br); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	for _, s := range []string{
		"* 1 FETCH (BODY[] {99999999999}\r\n",
		"* OK " + strings.Repeat("x", maxReplyLine) + "\r\n",
	} {
		if _, err := readReply(bufio.NewReader(strings.NewReader(s))); !errors.Is(err, errReplyTooLarge) {
			t.Errorf("%.40q: %v, want errReplyTooLarge", s, err)
		}
	}
	if _, err := readReply(bufio.NewReader(strings.NewReader("* 1 FETCH (BODY[] {9}\r\nab"))); err != io.ErrUnexpectedEOF {
		t.Errorf("a literal cut short: %v", err)
	}
}

// FuzzReply feeds arbitrary server output to the reply reader, the
// parser and a checker in the middle of a session: errors, never a
// panic, a hang or unbounded memory.
func FuzzReply(f *testing.F) {
	for _, l := range strings.Split(goodSession, "\n") {
		if s, ok := strings.CutPrefix(l, "S: "); ok {
			f.Add([]byte(strings.ReplaceAll(s, `\r\n`, "\r\n") + "\r\n"))
		}
	}
	f.Add([]byte("* 3 EXISTS\r\n* 1 FETCH (UID 4 FLAGS (\\Recent))\r\n* VANISHED 4\r\n* 9 EXPUNGE\r\na1 OK x\r\n"))
	f.Add([]byte("* OK [COPYUID 5 1:3 4:6] x\r\n* SEARCH 1 2 (MODSEQ 3)\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k := newChecker(1, 1, func(string) {}, &recentClaims{}, &privateBox{name: "INBOX", created: true})
		k.enabled["QRESYNC"] = true
		k.send("a0 SELECT INBOX (CONDSTORE)")
		k.receive([]byte("* FLAGS (\\Seen $Label1)\r\n"))
		k.receive([]byte("* 5 EXISTS\r\n"))
		br := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 1000; i++ {
			raw, err := readReply(br)
			if err != nil {
				return
			}
			if _, done := k.receive(raw); done {
				k.send([]string{"a1 UID FETCH 1:* (FLAGS)", "a2 STORE 1:3 +FLAGS (\\Seen)", "a3 UID MOVE 2 INBOX", "a4 SEARCH UNSEEN", "a5 STATUS INBOX (MESSAGES)"}[i%5])
			}
		}
	})
}
