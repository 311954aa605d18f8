package imap

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestBadInputTranscript(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.dial(t)
	c.transcript(`
C: a1 LOGIN "alice secret
S: a1 BAD Unterminated quoted string
C: a2 NOOP
S: a2 OK Noop completed.
C: a3 LOGIN {4294967296}
S: a3 NO [TOOBIG] Literal too large
C: a4 FETCH 1 FLAGS
S: a4 BAD Command not allowed before authentication.
C: a5 LOGIN alice secret
S: re:a5 OK \[CAPABILITY .*\] Logged in
C: a6 LOGIN alice secret
S: a6 BAD Command not allowed after authentication.
C: a7 FETCH 1 FLAGS
S: a7 BAD No mailbox selected.
C: a8 CREATE "&Jjo"
S: a8 NO [CANNOT] Mailbox name is not valid mUTF-7.
C: a9 CREATE "&AOQ-&AOQ-"
S: a9 NO [CANNOT] Mailbox name is not valid mUTF-7.
C: a10 CREATE "a&AOQ-b"
S: a10 OK Create completed.
C: a11 APPEND INBOX {4294967296}
S: a11 NO [TOOBIG] Message too large.
C: a12 SELECT INBOX
S: re:.*
S: re:.*
S: re:.*
S: re:.*
S: re:.*
S: re:.*
S: re:.*
S: a12 OK [READ-WRITE] Select completed.
C: a13 FETCH 1 (FLAGS
S: a13 BAD Expected space or ')' in list
C: a14 FETCH 0 FLAGS
S: a14 BAD Invalid sequence number
C: a15 FETCH 1:: FLAGS
S: a15 BAD Invalid sequence number
C: a16 FETCH 1,,2 FLAGS
S: a16 BAD Invalid sequence number
C: a17 UID FETCH 1:* (FLAGS
S: a17 BAD Expected space or ')' in list
C: a18 STORE 1:* +FLAGS (\Bogus)
S: a18 BAD Invalid system flag \Bogus
C: a19 BLURDY
S: a19 BAD Unknown command.
C: a20 SEARCH (OR SEEN
S: a20 BAD Expected space
C: a21 SEARCH CHARSET X-NOSUCH ALL
S: a21 NO [BADCHARSET] Unsupported charset.
C: a22 UID SEARCH NOT NOT NOT ALL
S: * SEARCH
S: a22 OK Search completed.
C: a23 UID FETCH 1:4294967295 FLAGS
S: a23 OK Fetch completed.
C: a24 NOOP
S: a24 OK Noop completed.
`)
	// NUL and 8-bit bytes in a tag or command name.
	c.send("a\x00b NOOP")
	if l := c.line(); !strings.HasPrefix(l, "* BAD") {
		t.Fatalf("NUL in tag: %q", l)
	}
	c.send("a25 NO\xffOP")
	if l := c.line(); !strings.HasPrefix(l, "a25 BAD") {
		t.Fatalf("8-bit in command: %q", l)
	}
	c.ok("NOOP")
}

// A non-synchronizing literal too large to discard ends the session.
func TestHugeNonSyncLiteralDisconnects(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.send("a1 APPEND INBOX {4294967296+}")
	if l := c.line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("got %q", l)
	}
	expectClosed(t, c)
}

func TestLineTooLong(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.MaxLineLength = 1024 })
	c := env.dial(t)
	c.send("a1 LOGIN " + strings.Repeat("x", 2000) + " y")
	if l := c.line(); l != "* BYE Too long argument." {
		t.Fatalf("got %q", l)
	}
	expectClosed(t, c)
}

// A literal announced but never sent: the session ends at the timeout,
// it does not hang.
func TestLiteralNeverSent(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.LoginTimeout = 300 * time.Millisecond })
	c := env.dial(t)
	c.send("a1 LOGIN {5}")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("got %q", l)
	}
	expectClosed(t, c)
}

func expectClosed(t *testing.T, c *client) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := c.nc.Read(buf)
		if err == io.EOF || (err != nil && strings.Contains(err.Error(), "reset")) {
			return
		}
		if err != nil {
			t.Fatalf("connection not closed: %v", err)
		}
	}
}

// A client that sends commands but never reads responses is
// disconnected once the bounded buffers fill and WriteTimeout passes.
func TestClientThatNeverReads(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.WriteTimeout = 300 * time.Millisecond })
	c := env.login(t, "alice", "secret")
	c.appendRaw("INBOX", "Subject: big\r\n\r\n"+strings.Repeat("0123456789abcdef\r\n", 64<<10/18*16))
	c.ok("SELECT INBOX")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5000; i++ {
			c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.nc.Write([]byte("x FETCH 1 BODY.PEEK[]\r\n")); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for env.srv.numConns() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("server kept a connection whose client never reads")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.nc.Close()
	<-done
}

func TestMaxUserIPConnections(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.MaxUserIPConnections = 2 })
	env.login(t, "alice", "secret")
	env.login(t, "alice", "secret")
	c := env.dial(t)
	_, st := c.cmd("LOGIN alice secret")
	if !strings.HasPrefix(st, "NO [LIMIT]") {
		t.Fatalf("third login: %q", st)
	}
	env.login(t, "bob", "pw") // another user is not counted
}

func TestShutdownSaysBye(t *testing.T) {
	env := newTestEnv(t, nil)
	waiting := env.login(t, "alice", "secret")
	idling := env.login(t, "alice", "secret")
	idling.ok("SELECT INBOX")
	idling.send("i1 IDLE")
	if l := idling.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("idle: %q", l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := env.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range []*client{waiting, idling} {
		if l := c.line(); l != "* BYE Server shutting down." {
			t.Fatalf("got %q", l)
		}
	}
}
