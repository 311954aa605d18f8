package imap

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// QRESYNC (RFC 7162): SELECT with known UIDs reports the vanished ones
// and the messages changed since the given modseq.
func TestTranscriptQresyncSelect(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	for i := 0; i < 4; i++ {
		c.appendRaw("INBOX", "Subject: q\r\n\r\nq\r\n")
	}
	lines := c.ok("STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)")
	f := strings.Fields(strings.Trim(strings.SplitN(lines[0], "(", 2)[1], ")"))
	uidv, modseq := f[1], f[3]
	c.ok("SELECT INBOX")
	c.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
	c.ok("EXPUNGE")
	c.ok("STORE 3 +FLAGS.SILENT (\\Flagged)")
	c.ok("UNSELECT")
	c.ok("ENABLE QRESYNC")
	lines = c.ok("SELECT INBOX (QRESYNC (" + uidv + " " + modseq + " 1:4))")
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "* VANISHED (EARLIER) 2") {
		t.Fatalf("no VANISHED (EARLIER) 2:\n%s", all)
	}
	if !strings.Contains(all, `* 3 FETCH (UID 4 FLAGS (\Flagged) MODSEQ (`) {
		t.Fatalf("changed message not reported:\n%s", all)
	}
	if strings.Contains(all, "UID 1 ") {
		t.Fatalf("unchanged message reported:\n%s", all)
	}
	// UID FETCH with CHANGEDSINCE and VANISHED.
	lines = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + modseq + " VANISHED)")
	if lines[0] != "* VANISHED (EARLIER) 2" {
		t.Fatalf("UID FETCH VANISHED: %q", lines)
	}
}

// A non-PEEK body fetch sets \Seen and reports it; EXAMINE does not.
func TestFetchSetsSeen(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.appendRaw("INBOX", "Subject: s\r\n\r\nbody\r\n")
	c.ok("EXAMINE INBOX")
	if got := c.ok("FETCH 1 (BODY[TEXT])"); got[0] != "* 1 FETCH (BODY[TEXT] {6}\r\nbody\r\n)" {
		t.Fatalf("EXAMINE fetch: %q", got)
	}
	c.ok("SELECT INBOX")
	if got := c.ok("FETCH 1 (BODY[TEXT])"); got[0] != "* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {6}\r\nbody\r\n)" {
		t.Fatalf("SELECT fetch: %q", got)
	}
	if got := c.ok("FETCH 1 (FLAGS)"); got[0] != `* 1 FETCH (FLAGS (\Seen \Recent))` {
		t.Fatalf("flags after fetch: %q", got)
	}
}

// IDLE sends "* OK Still here" so NAT boxes keep the connection.
func TestIdleKeepalive(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.IdleNotifyInterval = 100 * time.Millisecond })
	c := env.login(t, "alice", "secret")
	c.ok("SELECT INBOX")
	c.send("i IDLE")
	c.line()
	if l := c.line(); l != "* OK Still here" {
		t.Fatalf("keepalive: %q", l)
	}
	c.send("DONE")
	for {
		l := c.line()
		if strings.HasPrefix(l, "i ") {
			if l != "i OK Idle completed." {
				t.Fatalf("end: %q", l)
			}
			break
		}
	}
}

// APPEND with UTF8 (...) (RFC 6855) after ENABLE UTF8=ACCEPT, and a
// UTF-8 mailbox name.
func TestUTF8Accept(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.ok("ENABLE UTF8=ACCEPT")
	c.ok(`CREATE "Entwürfe"`)
	msg := "Subject: ü\r\n\r\nbody"
	c.send("a APPEND \"Entwürfe\" UTF8 (~{" + itoa(uint32(len(msg))) + "+}")
	c.send(msg + ")")
	if l := c.line(); !strings.HasPrefix(l, "a OK [APPENDUID") {
		t.Fatalf("append: %q", l)
	}
	lines := c.ok(`STATUS "Entwürfe" (MESSAGES)`)
	if lines[0] != `* STATUS "Entwürfe" (MESSAGES 1)` {
		t.Fatalf("status: %q", lines)
	}
}

// STARTTLS in a raw session: LOGINDISABLED before, login works after.
func TestTranscriptStartTLS(t *testing.T) {
	fx := testutil.NewTLS(t)
	env := newTestEnv(t, func(s *Server) {
		s.TLSConfig = fx.ServerConfig()
		s.Authenticator.(*testAuth).insecureOK = false
	})
	c := env.dial(t)
	c.transcript(`
C: a LOGIN alice secret
S: a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.
C: b STARTTLS
S: b OK Begin TLS negotiation now.
`)
	tc := tls.Client(c.nc, fx.ClientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc = tc
	c.br.Reset(tc)
	lines := c.ok("CAPABILITY")
	if strings.Contains(lines[0], "STARTTLS") || strings.Contains(lines[0], "LOGINDISABLED") || !strings.Contains(lines[0], "AUTH=PLAIN") {
		t.Fatalf("capabilities after TLS: %q", lines)
	}
	c.ok("LOGIN alice secret")
}
