package imap

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestMaxMailboxes: CREATE beyond MaxMailboxes is refused with
// NO [LIMIT] and logged; deleting one makes room again.
func TestMaxMailboxes(t *testing.T) {
	var logs testutil.SyncBuffer
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
