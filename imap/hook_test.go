package imap

import (
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestCommandHook: every command of a session reaches CommandHook once,
// by its known name or UNKNOWN, with ok as the tagged reply said.
func TestCommandHook(t *testing.T) {
	rec := &testutil.CommandRecorder{OK: "OK", Fail: "NO"}
	env := newTestEnv(t, func(s *Server) { s.CommandHook = rec.Hook })
	c := env.dial(t)
	c.cmd("capability")
	c.cmd("LOGIN alice wrong")
	c.cmd("LOGIN alice secret")
	c.cmd("SELECT INBOX")
	c.cmd("UID FETCH 1:* FLAGS")
	c.cmd("UID CAPABILITY")
	c.cmd("XYZZY")
	c.send("\x01")
	c.line()
	c.cmd("FETCH x FLAGS")
	c.cmd("LOGOUT")
	// The hook of LOGOUT runs before the server closes the connection.
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c.br); err != nil {
		t.Fatal(err)
	}
	want := []string{"CAPABILITY OK", "LOGIN NO", "LOGIN OK", "SELECT OK", "UID FETCH OK",
		"UNKNOWN NO", "UNKNOWN NO", "UNKNOWN NO", "FETCH NO", "LOGOUT OK"}
	if got := rec.Seen(); !reflect.DeepEqual(got, want) {
		t.Errorf("hook saw %q\nwant     %q", got, want)
	}
}
