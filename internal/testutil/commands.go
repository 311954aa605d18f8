package testutil

import (
	"net"
	"sync"
	"testing"
	"time"
)

// CommandRecorder collects what a server's CommandHook reports, one
// "NAME <OK or Fail label>" string per command, with " no-time" added
// when the reported duration was not positive. Its Hook method fits the
// CommandHook fields of imap, pop3 and lmtp.
type CommandRecorder struct {
	OK, Fail string // labels for ok and failed commands

	mu   sync.Mutex
	seen []string
}

// Hook records one command.
func (r *CommandRecorder) Hook(name string, ok bool, took time.Duration) {
	s := name + " " + r.Fail
	if ok {
		s = name + " " + r.OK
	}
	if took <= 0 {
		s += " no-time"
	}
	r.mu.Lock()
	r.seen = append(r.seen, s)
	r.mu.Unlock()
}

// Seen returns a copy of what was recorded so far.
func (r *CommandRecorder) Seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// StateRecorder records the ConnState changes a server reports, for the
// servers' ConnState tests: every change must name the same (accepted)
// connection.
type StateRecorder struct {
	mu     sync.Mutex
	conn   net.Conn
	states []string
	other  bool // a change named another connection
}

// Add records state for c.
func (r *StateRecorder) Add(c net.Conn, state string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		r.conn = c
	} else if r.conn != c {
		r.other = true
	}
	r.states = append(r.states, state)
}

// Wait waits up to 10 seconds for last to be recorded and returns the
// states seen; it fails t when a change named another connection.
func (r *StateRecorder) Wait(t testing.TB, last string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		states, other := append([]string(nil), r.states...), r.other
		r.mu.Unlock()
		if other {
			t.Errorf("ConnState named more than one connection")
		}
		if len(states) > 0 && states[len(states)-1] == last || time.Now().After(deadline) {
			return states
		}
		time.Sleep(10 * time.Millisecond)
	}
}
