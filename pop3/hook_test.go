package pop3

import (
	"io"
	"net"
	"reflect"
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
