package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// logoutScript ends sessions the ways an administrator sees in the log:
// IMAP LOGOUT, an IMAP client that closes after its login and after a
// command, POP3 QUIT with a RETR and a DELE, and a POP3 client that
// closes without QUIT.
func logoutScript(t *testing.T, imapAddr, pop3Addr, msg string) {
	t.Helper()
	// A command's reply ends with its tagged line, +OK or -ERR; RETR's
	// and TOP's with the "." after the message.
	done := func(sent, resp string) bool {
		if strings.HasPrefix(sent, "RETR") || strings.HasPrefix(sent, "TOP") {
			return resp == ".\r\n"
		}
		tag, _, _ := strings.Cut(sent, " ")
		return strings.HasPrefix(resp, tag+" ") || strings.HasPrefix(resp, "+OK") || strings.HasPrefix(resp, "-ERR")
	}
	run := func(addr string, lines []string) { talk(t, addr, lines, done) }
	run(imapAddr, []string{"a LOGIN alice@localhost pw-alice", "b APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg, "c SELECT INBOX", "d LOGOUT"})
	run(imapAddr, []string{"a LOGIN alice@localhost pw-alice"})
	run(imapAddr, []string{"a LOGIN alice@localhost pw-alice", "b NOOP"})
	run(pop3Addr, []string{"USER alice@localhost", "PASS pw-alice", "TOP 1 0", "RETR 1", "DELE 1", "QUIT"})
	run(pop3Addr, []string{"USER alice@localhost", "PASS pw-alice", "STAT"})
	// The counters after out=: \Deleted set once (the second STORE and
	// the message appended deleted do not count), two messages
	// expunged, one copied into \Trash, three header sections fetched
	// and three with body (BINARY.SIZE and ENVELOPE are no section).
	run(imapAddr, []string{"a LOGIN alice@localhost pw-alice",
		"b APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg, "c APPEND INBOX (\\Deleted) {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg,
		"d SELECT INBOX", "e CREATE Trash",
		"f FETCH 1 (BODY.PEEK[HEADER] RFC822.HEADER BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT] BODY.PEEK[]<0.10> BINARY.PEEK[1] BINARY.SIZE[1] ENVELOPE)",
		"g COPY 1 Trash", "h STORE 1:2 +FLAGS.SILENT (\\Deleted)", "i STORE 1 +FLAGS.SILENT (\\Deleted)", "j EXPUNGE", "k LOGOUT"})
}

var (
	logoutLine   = regexp.MustCompile(`((?:imap|pop3)\([^)]*\)<[0-9]+><[A-Za-z0-9+/]{16}>): (?:Info: )?(Disconnected: .*)`)
	logoutVaries = regexp.MustCompile(`<[0-9]+><[A-Za-z0-9+/]{16}>|[0-9]+\.[0-9]{3} secs|(in|out)=[0-9]+`)
)

// logoutShapes are the Disconnected lines of a log, with pid, session
// id, timings and IMAP byte counts in= and out= (whose capability lines
// differ) masked; the other counters must be equal.
func logoutShapes(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if m := logoutLine.FindStringSubmatch(l); m != nil {
			s := m[1] + ": " + m[2]
			out = append(out, logoutVaries.ReplaceAllStringFunc(s, func(v string) string {
				switch {
				case strings.HasPrefix(v, "<"):
					return "<PID><SESSION>"
				case strings.HasSuffix(v, "secs"):
					return "N secs"
				}
				k, _, _ := strings.Cut(v, "=")
				return k + "=N"
			}))
		}
	}
	return out
}

// TestDovecotLogoutLineShapes: for the same sessions, the fullserver's
// "imap(user)<pid><session>: Disconnected: Logged out in=... out=..."
// and "pop3(user)...: Disconnected: Logged out top=.., retr=.., del=..,
// size=.." lines read as the real Dovecot 2.3's, reason by reason (the
// POP3 counts equal, for the same message), and a session's logout line
// carries its login line's session id.
func TestDovecotLogoutLineShapes(t *testing.T) {
	t.Parallel()
	msg := "From: bob@localhost\r\nSubject: hi\r\n\r\nhello\r\n.dot\r\n"
	d := testutil.StartDovecot(t, testutil.DovecotConfig{Protocols: "imap pop3", Listeners: []string{"imap-login/imap", "pop3-login/pop3"},
		Extra: "namespace inbox {\n  inbox = yes\n  mailbox Trash {\n    special_use = \\Trash\n  }\n}\n"})
	logoutScript(t, d.Addr(t, "imap-login/imap"), d.Addr(t, "pop3-login/pop3"), msg)
	want := dovecotLogShapes(t, d, logoutShapes, 6)

	in := newInstance(t, "disable_plaintext_auth = no\n")
	in.addUsers("alice")
	in.start()
	logoutScript(t, in.addr("imap"), in.addr("pop3"), msg)
	var got []string
	for deadline := time.Now().Add(10 * time.Second); len(got) < 6 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = logoutShapes(in.errText())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logout lines differ\nyubin:\n%s\nDovecot:\n%s\nlog:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), in.errText())
	}
	// The first IMAP session: one session id in its login and logout lines.
	log := in.errText()
	login := regexp.MustCompile(`imap-login: Login: .*session=<([^>]+)>`).FindStringSubmatch(log)
	if login == nil || !strings.Contains(log, "<"+login[1]+">: Disconnected: Logged out") {
		t.Errorf("the first login's session id is not in a logout line:\n%s", log)
	}
}
