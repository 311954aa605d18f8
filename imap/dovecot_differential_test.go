package imap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// diffStep is one step of a differential script: a command sent by
// session "A" or "B" (A stays IMAP4rev1, B too unless it enables
// IMAP4rev2), "X:" commands run by a separate Dovecot process on the
// server's own Maildir (a third program changing the mailbox), or
// "deliver" (a new file appears in new/, as Postfix's local agent writes
// it).
type diffStep struct {
	who string
	cmd string
}

// diffScript exercises every conformance defect of issue 14 and the
// common commands around them.
var diffScript = []diffStep{
	// \Recent for IMAP4rev1: the first session holds it.
	{"A", "STATUS INBOX (MESSAGES RECENT UNSEEN UIDNEXT)"},
	{"A", "EXAMINE INBOX"},
	{"A", "SEARCH RECENT"},
	{"A", "FETCH 8:* FLAGS"},
	{"B", "STATUS INBOX (MESSAGES RECENT)"},
	{"A", "SELECT INBOX"},
	{"A", "FETCH 1:* (UID FLAGS)"},
	{"A", "SEARCH RECENT"},
	{"A", "SEARCH NEW"},
	{"A", "SEARCH OLD"},
	{"A", "SEARCH UNSEEN NOT RECENT"},
	{"B", "STATUS INBOX (MESSAGES RECENT UNSEEN)"},
	{"B", "SELECT INBOX"},
	{"B", "SEARCH RECENT"},
	{"B", "FETCH 1:* FLAGS"},
	{"deliver", "Subject: delivered\r\nFrom: zed@example.org\r\n\r\nhello\r\n"},
	{"A", "NOOP"},
	{"B", "NOOP"},
	{"A", "FETCH 9:* (UID FLAGS)"},
	{"B", "FETCH 9:* (UID FLAGS)"},
	{"A", "SEARCH NEW"},
	{"A", "UID SEARCH RECENT"},
	{"B", "SEARCH RECENT"},
	{"A", "EXAMINE INBOX"},
	{"A", "SEARCH RECENT"},
	{"A", "SELECT INBOX"},
	{"A", "SEARCH RECENT"},

	// New keywords are announced before a FETCH uses them.
	{"A", "STORE 1 +FLAGS (Alpha)"},
	{"A", "STORE 2 +FLAGS.SILENT (Beta)"},
	{"A", "FETCH 2 FLAGS"},
	{"B", "NOOP"},
	{"B", "FETCH 1:2 FLAGS"},
	{"B", "UID STORE 3 +FLAGS (Gamma $Label1)"},
	{"A", "NOOP"},
	{"X:", "SELECT INBOX\r\nUID STORE 4 +FLAGS (ThirdParty)\r\nLOGOUT"},
	{"A", "NOOP"},
	{"B", "NOOP"},
	{"A", "FETCH 1:4 FLAGS"},
	{"A", "STORE 1 -FLAGS (Alpha)"},
	{"A", "STORE 1 FLAGS (\\Seen Alpha Delta)"},
	{"B", "NOOP"},

	// Atoms by RFC 3501's grammar; a parse error never disconnects.
	{"A", `LIST "" ~foo`},
	{"A", `LIST "" ~`},
	{"A", "SELECT ~foo"},
	{"A", "EXAMINE ~foo"},
	{"A", "STATUS ~foo (MESSAGES)"},
	{"A", "SELECT INBOX"},
	{"A", `LIST "" Lists/%`},
	{"A", `LIST "" *`},
	{"A", `LIST "" INBOX]`},
	{"A", "FETCH 1 (FLAGS"},
	{"A", "FETCH 1 FLAGS)"},
	{"A", "FETCH 1:* BOGUS"},
	{"A", "FETCH a FLAGS"},
	{"A", "FETCH 1,,2 FLAGS"},
	{"A", "FETCH 0 FLAGS"},
	{"A", "STORE 1 +FLAGS (\\Bogus)"},
	{"A", "STORE 1 +FLAGS (a(b)"},
	{"A", "STORE 1 +FLAGS (a{b)"},
	{"A", "STORE 1 FROB (x)"},
	{"A", "SEARCH FROB"},
	{"A", "SEARCH SINCE notadate"},
	{"A", "SEARCH LARGER x"},
	{"A", "SEARCH (SEEN"},
	{"A", "SEARCH UID 1:*"},
	{"A", "SEARCH SUBJECT ~x"},
	{"A", "SEARCH HEADER Subject ~x"},
	{"A", "STATUS"},
	{"A", "STATUS INBOX"},
	{"A", "LIST"},
	{"A", "STATUS INBOX MESSAGES"},
	{"A", "STATUS INBOX (BOGUS)"},
	{"A", "NOOP"},

	// CONDSTORE: the first mod-sequence command enables it.
	{"A", "FETCH 1 (MODSEQ)"},
	{"A", "FETCH 1 (FLAGS)"},
	{"A", "ENABLE CONDSTORE"},
	{"B", "SEARCH MODSEQ 1"},
	{"B", "SEARCH RETURN (MIN MAX COUNT) MODSEQ 1"},
	{"B", "UID SEARCH RETURN (MIN) MODSEQ 1"},
	{"B", "UID SEARCH RETURN (MAX) UNSEEN MODSEQ 1"},
	{"B", "SEARCH RETURN (ALL) MODSEQ 1"},

	// LIST-EXTENDED CHILDINFO and LSUB's \Noselect parents.
	{"A", `LIST (SUBSCRIBED) "" "*"`},
	{"A", `LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"`},
	{"A", `LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`},
	{"A", `LIST (SUBSCRIBED RECURSIVEMATCH) "" "Lists/%"`},
	{"A", `LIST "" "%" RETURN (SUBSCRIBED CHILDREN)`},
	{"A", `LSUB "" "%"`},
	{"A", `LSUB "" "*"`},
	{"A", `LSUB "" "Lists/%"`},
	{"A", `LSUB "" "Archive/%"`},

	// MOVE and COPY into the selected mailbox announce EXISTS.
	{"A", "COPY 1 INBOX"},
	{"A", "UID MOVE 2 INBOX"},
	{"A", "FETCH 1:* (UID FLAGS)"},
	{"B", "NOOP"},
	{"B", "MOVE 1 work"},
	{"A", "NOOP"},
	{"A", "STATUS work (MESSAGES RECENT UNSEEN)"},

	// BINARY.SIZE is the decoded size; an empty part is "".
	{"A", "FETCH 2 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])"},
	{"A", "FETCH 4 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.PEEK[1])"},
	{"A", "FETCH 5 (BINARY.SIZE[1] BINARY.SIZE[2])"},
	{"A", "FETCH 6 (BINARY.SIZE[1] BINARY.PEEK[1])"},
	{"A", "UID FETCH 1:4,6:* (BINARY.SIZE[1] BINARY.SIZE[2])"},
	{"A", "UID FETCH 3 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2.1])"},
	{"A", "UID FETCH 1:4,6:* (BINARY.SIZE[1.1] BINARY.SIZE[3] BINARY.SIZE[3.1])"},
	{"A", "UID FETCH 2 (BINARY.PEEK[1] BINARY.PEEK[2] BINARY.PEEK[1]<2.4> BINARY.SIZE[1])"},
	{"A", "UID FETCH 6,9,11 (BINARY.SIZE[1] BINARY.PEEK[1] BINARY.PEEK[1]<0.3>)"},
	{"A", "FETCH 1:* (BODYSTRUCTURE)"},
	{"A", "FETCH 1:* (ENVELOPE)"},
	{"A", "FETCH 1:* (RFC822.SIZE)"},

	// A message expunged by the other session is still fetched.
	{"B", "STORE 3 +FLAGS.SILENT (\\Deleted)"},
	{"B", "EXPUNGE"},
	{"A", "FETCH 3 (UID ENVELOPE)"},
	{"A", "FETCH 2:4 (UID ENVELOPE)"},
	{"A", "SEARCH ALL"},
	{"A", "NOOP"},
	{"A", "FETCH 2:4 (UID FLAGS)"},

	// The ordinary commands around them.
	{"A", "SEARCH FROM alice"},
	{"A", "SEARCH OR SEEN FLAGGED"},
	{"A", "SEARCH KEYWORD NonJunk"},
	{"A", "UID SEARCH UNKEYWORD Work"},
	{"A", "SEARCH SUBJECT multipart"},
	{"A", "SEARCH RETURN (COUNT) ALL"},
	{"A", "FETCH 1:* (INTERNALDATE)"},
	{"A", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT DATE)])"},
	{"A", "UID FETCH 1:* (FLAGS)"},
	{"A", "CREATE newbox"},
	{"A", "APPEND newbox (\\Seen Epsilon) {17}\r\nSubject: x\r\n\r\nyz"},
	{"A", "STATUS newbox (MESSAGES RECENT UNSEEN UIDNEXT)"},
	{"B", "SELECT newbox"},
	{"B", "FETCH 1 FLAGS"},
	{"A", "RENAME newbox oldbox"},
	{"A", "DELETE oldbox"},
	{"A", "LIST \"\" \"*\""},
	{"A", "UNSELECT"},
	{"A", "SELECT INBOX"},
	{"A", "FETCH 1:* FLAGS"},
	{"B", "SELECT INBOX"},
	{"B", "CLOSE"},
	{"B", "LOGOUT"},
	{"A", "LOGOUT"},
}

// diffQueries are read-only questions asked of the final INBOX, each as
// SEARCH and UID SEARCH, and FETCH items asked of every message.
var diffSearchKeys = []string{
	"ALL", "ANSWERED", "UNANSWERED", "DELETED", "UNDELETED", "DRAFT", "UNDRAFT", "FLAGGED", "UNFLAGGED",
	"SEEN", "UNSEEN", "NEW", "OLD", "RECENT", "KEYWORD NonJunk", "UNKEYWORD NonJunk", "KEYWORD $Forwarded",
	"KEYWORD Alpha", "LARGER 300", "SMALLER 300", "BEFORE 5-Jan-2024", "ON 3-Jan-2024", "SINCE 4-Jan-2024",
	"SENTBEFORE 5-Jan-2024", "SENTON 3-Jan-2024", "SENTSINCE 4-Jan-2024", "FROM example", "TO alice",
	"CC team", "BCC nobody", "SUBJECT part", `SUBJECT "big attachment"`, "BODY body", "TEXT inner",
	"HEADER Message-ID alt", "HEADER In-Reply-To example.fr", "UID 1:5", "2:4", "NOT SEEN", "OR FLAGGED DRAFT",
	"(SEEN FLAGGED)", "*", "1:*", "UID *:3", "NOT (OR SEEN NEW)", "OR (SMALLER 200 SEEN) KEYWORD Work",
	"RETURN (MIN MAX COUNT) UNSEEN", "RETURN () FLAGGED", "RETURN (COUNT) KEYWORD NonJunk",
}

var diffFetchItems = []string{
	"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "BODY.PEEK[HEADER]",
	"BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[2]", "BODY.PEEK[HEADER.FIELDS (FROM TO)]",
	"BODY.PEEK[HEADER.FIELDS.NOT (FROM SUBJECT)]", "BODY.PEEK[]<0.20>", "BODY.PEEK[TEXT]<5.10>",
	"RFC822.HEADER", "(UID FLAGS RFC822.SIZE)", "FAST", "ALL", "BODY.PEEK[1.1]", "BODY.PEEK[3.HEADER]",
}

// diffMore are further two-session steps, run after the queries.
var diffMore = []diffStep{
	{"A", "APPEND INBOX (Zeta \\Flagged) {20}\r\nSubject: zeta\r\n\r\nzz"},
	{"B", "NOOP"},
	{"A", "FETCH * (FLAGS)"},
	{"B", "FETCH * (FLAGS)"},
	{"A", "UID STORE 1:* (UNCHANGEDSINCE 1) +FLAGS (\\Answered)"},
	{"A", "FETCH 1 (BODY[TEXT])"},
	{"B", "NOOP"},
	{"A", "STORE 1:2 +FLAGS.SILENT (\\Deleted)"},
	{"A", "UID SEARCH DELETED"},
	{"A", "UID EXPUNGE 1:3"},
	{"B", "NOOP"},
	{"A", "EXPUNGE"},
	{"B", "NOOP"},
	{"A", "SEARCH CHARSET UTF-8 SUBJECT \"\xe3\x81\x93\xe3\x82\x93\""},
	{"A", "COPY 1:3 work"},
	{"A", "STATUS work (MESSAGES RECENT UNSEEN UIDNEXT)"},
	{"B", "SELECT work"},
	{"B", "FETCH 1:* (UID FLAGS)"},
	{"A", "MOVE 1 work"},
	{"B", "NOOP"},
	{"B", "SEARCH RECENT"},
	{"B", "UNSELECT"},
	{"B", "RENAME work work2"},
	{"A", "LIST \"\" \"w*\""},
	{"A", "SUBSCRIBE work2"},
	{"A", "UNSUBSCRIBE Archive"},
	{"A", "LSUB \"\" \"*\""},
	{"A", "LSUB \"\" \"%\""},
	{"A", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)"},
	{"A", "NAMESPACE"},
	{"B", "EXAMINE work2"},
	{"B", "FETCH 1:* (FLAGS)"},
	{"A", "CLOSE"},
	// Errors and their response codes (where both servers send one).
	{"A", "CREATE INBOX"},
	{"A", "CREATE Drafts"},
	{"A", "DELETE nosuch"},
	{"A", "RENAME nosuch other"},
	{"A", "RENAME Drafts Junk"},
	{"A", "APPEND nosuch {3+}\r\nabc"},
	{"A", "FETCH 1 FLAGS"},
	{"A", "CLOSE"},
	{"A", "SELECT Archive/2024"},
	{"A", "COPY 1 nosuch"},
	{"A", "MOVE 1 nosuch"},
	{"A", "FETCH 99 FLAGS"},
	{"A", "UID FETCH 999 FLAGS"},
	{"A", "STORE 99 +FLAGS (\\Seen)"},
	{"A", "SEARCH 99"},
	{"A", "UID SEARCH UID 999"},
	{"A", "EXAMINE Archive/2024"},
	{"A", "APPEND Archive/2024 (\\Seen) {3+}\r\nabc"},
	{"A", "UNSELECT"},
	{"A", "UNSELECT"},
	{"A", "CREATE a/b/c"},
	{"A", "LIST \"\" a/%"},
	{"A", "DELETE a"},
	{"A", "LIST \"\" \"a*\""},
	{"A", "DELETE a/b/c"},
	{"A", "LIST \"\" \"a*\""},
}

// fullDiffScript is diffScript with the queries asked before its last
// steps (the sessions' logout).
func fullDiffScript() []diffStep {
	tail := diffScript[len(diffScript)-3:]
	out := append([]diffStep{}, diffScript[:len(diffScript)-3]...)
	for _, k := range diffSearchKeys {
		out = append(out, diffStep{"A", "SEARCH " + k}, diffStep{"B", "UID SEARCH " + k})
	}
	for _, it := range diffFetchItems {
		out = append(out, diffStep{"A", "FETCH 1:* " + it})
	}
	out = append(out, diffMore...)
	return append(out, tail...)
}

// TestDovecotDifferential runs diffScript against Dovecot 2.3's imap and
// against yubin, each on its own copy of the same Maildir corpus, and
// compares every response once what may legitimately differ is
// normalised away (the text after status codes, mod-sequence values,
// capability lists, MAILBOXID, the order of SELECT and LIST data).
func TestDovecotDifferential(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "Maildir"))

	// Dovecot's copy, owned by the user its imap runs as.
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	dvConf := dovecotIMAPConf(t, dvRoot)
	dvXConf := dovecotIMAPConf(t, testutil.SharedDir(t))

	// yubin's copy; the "X:" steps run Dovecot on it too.
	yRoot := testutil.SharedDir(t)
	yHome := filepath.Join(yRoot, "alice")
	copyTree(t, corpus, yHome)
	// Sessions of a user share one Store, as in examples/fullserver.
	env := newTestEnvAt(t, yRoot, func(s *Server) {
		s.Backend = maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
			return maildirRoot(yRoot, user), nil
		}, maildir.Options{AutoMailboxes: store.DefaultAutoMailboxes(), NoSync: true})
	})

	dv := map[string]diffSession{
		"A": startDovecotSession(t, dvConf, "alice", dvHome),
		"B": startDovecotSession(t, dvConf, "alice", dvHome),
	}
	yb := map[string]diffSession{
		"A": yubinDiffSession{env.login(t, "alice", "secret")},
		"B": yubinDiffSession{env.login(t, "alice", "secret")},
	}
	deliveries := 0
	for i, st := range fullDiffScript() {
		switch st.who {
		case "deliver":
			deliveries++
			for _, home := range []string{dvHome, yHome} {
				p := filepath.Join(home, "Maildir", "new", fmt.Sprintf("1700000000.M%dP1.test", deliveries))
				writeFile(t, p, st.cmd)
			}
			testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
			continue
		case "X:":
			// The same Dovecot program changes each server's Maildir.
			testutil.ChownTree(t, yHome, testutil.PlainUID, testutil.PlainGID)
			for _, home := range []string{dvHome, yHome} {
				x := startDovecotSession(t, dvXConf, "alice", home)
				for _, c := range strings.Split(st.cmd, "\r\n") {
					x.do(c)
				}
			}
			continue
		}
		dl, dt := dv[st.who].do(st.cmd)
		yl, yt := yb[st.who].do(st.cmd)
		want := normalize(st.cmd, dl, dt)
		got := normalize(st.cmd, yl, yt)
		if got != want {
			t.Errorf("step %d, %s: %s\n--- dovecot\n%s\n--- yubin\n%s", i, st.who, st.cmd, want, got)
		}
		// ESEARCH's MODSEQ with MIN or MAX is that message's (RFC 7162
		// 3.1.5): each server is checked against itself.
		if m := esearchMinMaxRE.FindStringSubmatch(strings.Join(yl, "\n")); m != nil {
			checkESearchModSeq(t, "yubin", yb[st.who], m)
			checkESearchModSeq(t, "dovecot", dv[st.who], esearchMinMaxRE.FindStringSubmatch(strings.Join(dl, "\n")))
		}
		if os.Getenv("YUBIN_DIFF_VERBOSE") != "" {
			t.Logf("step %d %s: %s\n%s", i, st.who, st.cmd, want)
		}
	}
}

var esearchMinMaxRE = regexp.MustCompile(`ESEARCH \(TAG "[^"]*"\)( UID)? (?:MIN|MAX) (\d+)(?: COUNT \d+)? MODSEQ (\d+)$`)

// checkESearchModSeq fetches the MODSEQ of the message an ESEARCH MIN or
// MAX named and compares it with the ESEARCH's MODSEQ.
func checkESearchModSeq(t *testing.T, server string, s diffSession, m []string) {
	t.Helper()
	if m == nil {
		t.Errorf("%s: no ESEARCH MIN/MAX MODSEQ response", server)
		return
	}
	cmd := "FETCH " + m[2] + " (MODSEQ)"
	if m[1] != "" {
		cmd = "UID " + cmd
	}
	lines, _ := s.do(cmd)
	want := "MODSEQ (" + m[3] + ")"
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("%s: ESEARCH said %s for message %s, %s says %q", server, want, m[2], cmd, lines)
	}
}
