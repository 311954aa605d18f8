package imap

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncLog is a log destination safe for concurrent sessions.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMaxMailboxes: CREATE beyond MaxMailboxes is refused with
// NO [LIMIT] and logged; deleting one makes room again.
func TestMaxMailboxes(t *testing.T) {
	var logs syncLog
	root := t.TempDir()
	first := newTestEnvAt(t, root, func(s *Server) { s.MaxMailboxes = -1 })
	have := len(first.login(t, "alice", "secret").ok(`LIST "" *`))
	env := newTestEnvAt(t, root, func(s *Server) {
		s.MaxMailboxes = have + 2
		s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	c := env.login(t, "alice", "secret")
	c.ok("CREATE one")
	c.ok("CREATE two")
	if _, st := c.cmd("CREATE three"); !strings.HasPrefix(st, "NO [LIMIT] ") {
		t.Fatalf("CREATE over MaxMailboxes: %q", st)
	}
	if !strings.Contains(logs.String(), "mailbox limit reached") {
		t.Errorf("refusal not logged:\n%s", logs.String())
	}
	c.ok("DELETE one")
	c.ok("CREATE three")
	if DefaultMaxMailboxes != 10000 {
		t.Errorf("DefaultMaxMailboxes = %d", DefaultMaxMailboxes)
	}
}
