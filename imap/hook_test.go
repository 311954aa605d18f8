package imap

import (
	"io"
	"reflect"
	"sync"
	"testing"
	"time"
)

// hookRecorder collects what Server.CommandHook reports.
type hookRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (h *hookRecorder) hook(name string, ok bool, took time.Duration) {
	s := name + " NO"
	if ok {
		s = name + " OK"
	}
	if took <= 0 {
		s += " no-time"
	}
	h.mu.Lock()
	h.seen = append(h.seen, s)
	h.mu.Unlock()
}

func (h *hookRecorder) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// TestCommandHook: every command of a session reaches CommandHook once,
// by its known name or UNKNOWN, with ok as the tagged reply said.
func TestCommandHook(t *testing.T) {
	var rec hookRecorder
	env := newTestEnv(t, func(s *Server) { s.CommandHook = rec.hook })
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
	if got := rec.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("hook saw %q\nwant     %q", got, want)
	}
}
