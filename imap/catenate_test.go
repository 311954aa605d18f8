package imap

import (
	"strings"
	"testing"
)

// CATENATE answers yubin gives where Dovecot's differ or crash, and its
// limits: absolute URLs of the user's own messages, other users' URLs
// refused, bad part lists, the APPENDLIMIT over the whole message.
func TestCatenate(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.AppendLimit = 100 })
	c := env.login(t, "alice", "secret")
	c.ok("APPEND INBOX {27+}\r\nSubject: one\r\n\r\nbody text\r\n")
	c.transcript(`
C: a1 APPEND INBOX CATENATE (URL "imap://alice@localhost/INBOX/;UID=1/;SECTION=TEXT" TEXT {2+}
C: ok)
S: re:a1 OK \[APPENDUID \d+ 2\] Append completed.
C: a2 APPEND INBOX CATENATE (URL "imap://bob@localhost/INBOX/;UID=1")
S: a2 NO [BADURL imap://bob@localhost/INBOX/;UID=1] Bad IMAP URL.
C: a3 APPEND INBOX CATENATE ()
S: a3 BAD Empty CATENATE list.
C: a4 APPEND INBOX CATENATE (FOO "x")
S: a4 BAD Unknown CATENATE part.
C: a5 APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1" URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")
S: a5 NO [TOOBIG] Message too large.
C: a6 NOOP
S: re:a6 OK .*
`)
	c.ok("SELECT INBOX")
	l := c.ok("FETCH 2 BODY.PEEK[]")
	if len(l) != 1 || !strings.HasSuffix(l[0], "{13}\r\nbody text\r\nok)") {
		t.Errorf("catenated message: %q", l)
	}
}
