package imap

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLogoutHook: a session that logged in is reported once when it
// ends, with Dovecot's reason and its byte counts from the login on (In
// without LOGOUT's line end, as Dovecot counts); one that never logged
// in is not reported.
func TestLogoutHook(t *testing.T) {
	var mu sync.Mutex
	var got []*Logout
	env := newTestEnv(t, func(s *Server) {
		s.LogoutHook = func(l *Logout) { mu.Lock(); got = append(got, l); mu.Unlock() }
	})
	session := func(lines ...string) (out int64) {
		nc, err := net.Dial("tcp", env.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		for i, l := range lines {
			nc.Write([]byte(l + "\r\n"))
			tag, _, _ := strings.Cut(l, " ")
			for {
				s, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				if i > 0 || tag != "a" || strings.HasPrefix(s, "a ") {
					out += int64(len(s))
				}
				if strings.HasPrefix(s, tag+" ") {
					break
				}
			}
		}
		if strings.HasSuffix(lines[len(lines)-1], "LOGOUT") {
			n, _ := io.Copy(io.Discard, br)
			out += n
		}
		return out
	}
	session("a CAPABILITY") // never logs in
	out1 := session("a LOGIN alice secret", "b NOOP", "c LOGOUT")
	session("a LOGIN alice secret")
	session("a LOGIN alice secret", "b SELECT INBOX", "c UID FETCH 1:* FLAGS")
	want := []struct {
		reason string
		in     int64
	}{
		{"Logged out", int64(len("b NOOP\r\nc LOGOUT"))},
		{"Connection closed (No commands sent)", 0},
		{"Connection closed (UID FETCH finished ", int64(len("b SELECT INBOX\r\nc UID FETCH 1:* FLAGS\r\n"))},
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("%d sessions reported, want %d", len(got), len(want))
	}
	// Sessions end on the server in the order it notices them, which
	// for two connections the client closed one after the other need
	// not be the order of the closes: each is matched by its reason.
	for i, w := range want {
		var l *Logout
		for _, g := range got {
			if strings.HasPrefix(g.Reason, w.reason) {
				l = g
			}
		}
		if l == nil {
			t.Errorf("session %d: no report with reason %q", i, w.reason)
			continue
		}
		if l.User != "alice" || l.In != w.in || l.Conn == nil || l.Conn.Service != "imap" {
			t.Errorf("session %d: %+v, want reason %q in=%d", i, *l, w.reason, w.in)
		}
		if i == 0 && l.Out != out1 {
			t.Errorf("out=%d, the client read %d bytes from LOGIN's reply on", l.Out, out1)
		}
	}
}

// The counters after in= and out= (Dovecot's imap_logout_format):
// \Deleted newly set, messages expunged (EXPUNGE and CLOSE), copied to
// \Trash, and FETCH sections with only a header or with body.
func TestLogoutCounters(t *testing.T) {
	got := make(chan *Logout, 1)
	env := newTestEnv(t, func(s *Server) { s.LogoutHook = func(l *Logout) { got <- l } })
	c := env.login(t, "alice", "secret")
	msg := "Subject: hi\r\n\r\nhello\r\n"
	for _, flags := range []string{"", "(\\Deleted) ", "", ""} {
		c.ok("APPEND INBOX " + flags + "{" + itoa(uint32(len(msg))) + "+}\r\n" + msg)
	}
	c.ok("SELECT INBOX")
	c.ok("FETCH 1 (BODY.PEEK[HEADER] RFC822.HEADER BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT] BODY.PEEK[]<0.5> BINARY.PEEK[1] BINARY.SIZE[1] ENVELOPE BODYSTRUCTURE)")
	c.ok("COPY 1:2 Trash")
	c.ok("COPY 1 Sent")
	c.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)") // 1 and 3: 2 had it
	c.ok("STORE 1 FLAGS.SILENT (\\Deleted \\Seen)")
	c.ok("EXPUNGE")                           // 1, 2, 3
	c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)") // the fourth
	c.ok("CLOSE")
	c.send("z LOGOUT")
	select {
	case l := <-got:
		want := Logout{Deleted: 3, Expunged: 4, Trashed: 2, FetchHdrCount: 3, FetchHdrBytes: 3 * 15, FetchBodyCount: 3, FetchBodyBytes: 7 + 5 + 7}
		if l.Deleted != want.Deleted || l.Expunged != want.Expunged || l.Trashed != want.Trashed ||
			l.FetchHdrCount != want.FetchHdrCount || l.FetchHdrBytes != want.FetchHdrBytes ||
			l.FetchBodyCount != want.FetchBodyCount || l.FetchBodyBytes != want.FetchBodyBytes {
			t.Fatalf("counters %+v, want %+v", *l, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no logout reported")
	}
}
