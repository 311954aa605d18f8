package pop3

import (
	"io"
	"reflect"
	"sync"
	"testing"
	"time"
)

// TestCommandHook: every command line of a session reaches CommandHook
// once, by its known keyword or UNKNOWN, with ok as +OK/-ERR said.
func TestCommandHook(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	hook := func(name string, ok bool, took time.Duration) {
		s := name + " -ERR"
		if ok {
			s = name + " +OK"
		}
		if took <= 0 {
			s += " no-time"
		}
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}
	e := startServer(t, &Server{CommandHook: hook})
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
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("hook saw %q\nwant     %q", seen, want)
	}
}
