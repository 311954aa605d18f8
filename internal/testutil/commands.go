package testutil

import (
	"sync"
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
