package pop3

import (
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestCommandHook: every command line of a session reaches CommandHook
// once, by its known keyword or UNKNOWN, with ok as +OK/-ERR said.
func TestCommandHook(t *testing.T) {
	rec := &testutil.CommandRecorder{OK: "+OK", Fail: "-ERR"}
	e := startServer(t, &Server{CommandHook: rec.Hook})
	e.deliver("alice", msg2)
	c := e.dial()
	c.cmd("capa", "+OK")
	c.multi()
	c.cmd("USER alice", "+OK")
	c.cmd("PASS wrong", "-ERR")
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "+OK")
	c.cmd("RETR 1", "+OK")
	c.multi()
	c.cmd("RETR 9", "-ERR")
	c.cmd("XYZZ", "-ERR")
	c.cmd("SELECT", "-ERR")
	c.cmd("QUIT", "+OK")
	// The hook of QUIT runs before the server closes the connection.
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c.r); err != nil {
		t.Fatal(err)
	}
	want := []string{"CAPA +OK", "USER +OK", "PASS -ERR", "USER +OK", "PASS +OK",
		"RETR +OK", "RETR -ERR", "UNKNOWN -ERR", "UNKNOWN -ERR", "QUIT +OK"}
	if seen := rec.Seen(); !reflect.DeepEqual(seen, want) {
		t.Errorf("hook saw %q\nwant     %q", seen, want)
	}
}

// TestConnState: ConnState sees a connection accepted, logged in and
// closed, in that order, with the accepted connection each time.
func TestConnState(t *testing.T) {
	rec := &testutil.StateRecorder{}
	e := startServer(t, &Server{ConnState: func(c net.Conn, st ConnState) {
		rec.Add(c, [...]string{"new", "auth", "closed"}[st])
	}})
	e.deliver("alice", msg2)
	c := e.dial()
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "+OK")
	c.cmd("QUIT", "+OK")
	if got := rec.Wait(t, "closed"); !reflect.DeepEqual(got, []string{"new", "auth", "closed"}) {
		t.Errorf("ConnState saw %q", got)
	}
}

// TestLogoutHook: a session that logged in is reported once when it
// ends, with Dovecot's reason and pop3_logout_format's counts: TOP and
// RETR replies counted as Dovecot counts them (the "+OK" line and the
// dot-stuffed message, not the final "."), deletions made by QUIT, and
// the maildrop at login.
func TestLogoutHook(t *testing.T) {
	var mu sync.Mutex
	var got []*Logout
	e := startServer(t, &Server{LogoutHook: func(l *Logout) { mu.Lock(); got = append(got, l); mu.Unlock() }})
	e.deliver("alice", msg2, msg2)
	c := e.dial()
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "+OK")
	c.cmd("TOP 1 1", "+OK")
	top := c.multi()
	okLine := c.cmd("RETR 2", "+OK")
	retr := c.multi()
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK")
	c2 := e.login("alice", "secret")
	c2.conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d sessions reported, want 2", len(got))
	}
	l := got[0]
	wantTop := int64(len("+OK\r\n") + len(top))
	wantRetr := int64(len(okLine+"\r\n") + len(retr))
	if l.User != "alice" || l.Reason != "Logged out" || l.Top != 1 || l.TopBytes != wantTop || l.Retr != 1 || l.RetrBytes != wantRetr ||
		l.Deleted != 1 || l.Messages != 2 || l.Size != 2*int64(len(msg2)) {
		t.Errorf("first session: %+v; want top=1/%d retr=1/%d del=1/2 size=%d", *l, wantTop, wantRetr, 2*len(msg2))
	}
	if l := got[1]; l.Reason != "Connection closed" || l.Messages != 1 || l.Deleted != 0 || l.Retr != 0 {
		t.Errorf("second session: %+v", *l)
	}
}
