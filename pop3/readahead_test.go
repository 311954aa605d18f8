package pop3

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// openLog records the UIDs a session's Mailbox.Open was called for.
type openLog struct {
	mu   sync.Mutex
	uids []uint32
}

func (l *openLog) add(uid uint32) {
	l.mu.Lock()
	l.uids = append(l.uids, uid)
	l.mu.Unlock()
}

func (l *openLog) count(uid uint32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, u := range l.uids {
		if u == uid {
			n++
		}
	}
	return n
}

type loggedStore struct {
	store.Store
	log *openLog
}

func (s loggedStore) OpenMailbox(ctx context.Context, name string, opts store.OpenOptions) (store.Mailbox, error) {
	mb, err := s.Store.OpenMailbox(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	return loggedMailbox{mb, s.log}, nil
}

type loggedMailbox struct {
	store.Mailbox
	log *openLog
}

func (m loggedMailbox) Open(ctx context.Context, uid uint32) (store.MessageReader, error) {
	m.log.add(uid)
	return m.Mailbox.Open(ctx, uid)
}

// TestReadAhead: after RETR n the server prepares RETR n+1 while it
// waits (the message is opened before the client asks for it), and the
// prepared reply is the same bytes RETR sends without read-ahead. A
// message marked deleted in between is refused, and a RETR out of order
// is served from the file.
func TestReadAhead(t *testing.T) {
	log := &openLog{}
	var e *env
	srv := &Server{}
	srv.Backend = store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		st, err := maildirBackend(e.root).Open(ctx, user)
		if err != nil {
			return nil, err
		}
		return loggedStore{st, log}, nil
	})
	e = startServer(t, srv)
	e.deliver("alice", msg1, msg2, msg3, msg1)
	infos := e.inbox("alice")
	want := make([]string, len(infos))
	{
		// The replies without read-ahead: each RETR right after login.
		for i := range infos {
			c := e.login("alice", "secret")
			c.cmd("RETR "+itoa(i+1), "+OK")
			want[i] = c.multi()
			c.cmd("QUIT", "+OK")
		}
	}
	c := e.login("alice", "secret")
	before := log.count(infos[1].UID)
	c.cmd("RETR 1", "+OK")
	if got := c.multi(); got != want[0] {
		t.Fatalf("RETR 1 = %q, want %q", got, want[0])
	}
	// Message 2 is opened before the client asks for it.
	deadline := time.Now().Add(5 * time.Second)
	for log.count(infos[1].UID) == before {
		if time.Now().After(deadline) {
			t.Fatal("message 2 not read ahead after RETR 1")
		}
		time.Sleep(5 * time.Millisecond)
	}
	opened := log.count(infos[1].UID)
	c.cmd("RETR 2", "+OK "+itoa(int(infos[1].Size))+" octets")
	if got := c.multi(); got != want[1] {
		t.Fatalf("read-ahead RETR 2 = %q, want %q", got, want[1])
	}
	if log.count(infos[1].UID) != opened {
		t.Error("RETR 2 opened the message again instead of using the read-ahead reply")
	}
	// Message 3 was read ahead; DELE 3 first, then RETR 3 must fail.
	c.cmd("DELE 3", "+OK")
	c.cmd("RETR 3", "-ERR")
	// Out of order (RETR 4, then RETR 1 while 5 does not exist; RETR 2
	// after a TOP): every reply is the message asked for.
	c.cmd("RETR 4", "+OK")
	if got := c.multi(); got != want[3] {
		t.Fatalf("RETR 4 = %q", got)
	}
	c.cmd("RETR 1", "+OK")
	if got := c.multi(); got != want[0] {
		t.Fatalf("RETR 1 after RETR 4 = %q, want %q", got, want[0])
	}
	c.cmd("TOP 2 0", "+OK")
	c.multi()
	c.cmd("RETR 2", "+OK")
	if got := c.multi(); got != want[1] {
		t.Fatalf("RETR 2 after TOP = %q", got)
	}
	// Pipelined RETRs: nothing is read ahead, the replies are right.
	c.send("RETR 1\r\nRETR 2")
	c.expect("+OK")
	if got := c.multi(); got != want[0] {
		t.Fatalf("pipelined RETR 1 = %q", got)
	}
	c.expect("+OK")
	if got := c.multi(); got != want[1] {
		t.Fatalf("pipelined RETR 2 = %q", got)
	}
	c.cmd("QUIT", "+OK")
	if got := e.inbox("alice"); len(got) != 3 {
		t.Fatalf("after QUIT %d messages, want 3", len(got))
	}
}
