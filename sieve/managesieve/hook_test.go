package managesieve

import (
	"reflect"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestCommandHook: every command reaches CommandHook by its known name
// or UNKNOWN, ok when its reply was OK.
func TestCommandHook(t *testing.T) {
	t.Parallel()
	rec := &testutil.CommandRecorder{OK: "OK", Fail: "NO"}
	srv, _ := newTestServer(t)
	srv.CommandHook = rec.Hook
	c := loggedIn(t, startServer(t, srv), "u")
	c.cmd("PUTSCRIPT \"x\" {}\nkeep;\n")
	c.cmd("PUTSCRIPT \"y\" {}\nerror;\n")
	c.cmd(`GETSCRIPT "nope"`)
	c.cmd("XYZZY")
	c.cmd("LOGOUT")
	want := []string{"AUTHENTICATE OK", "PUTSCRIPT OK", "PUTSCRIPT NO", "GETSCRIPT NO", "UNKNOWN NO", "LOGOUT OK"}
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.Seen()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if seen := rec.Seen(); !reflect.DeepEqual(seen, want) {
		t.Errorf("hook saw %q\nwant     %q", seen, want)
	}
}
