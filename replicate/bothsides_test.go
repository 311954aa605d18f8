package replicate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/sieve/sievestore"
	"github.com/yubinmail/yubin/store"
)

// Syncs driven from either side of a pair, named as the fullserver
// names them: each side calls the other by its mail_replica address,
// and its Dialer gives that name too.

// lockedBuffer is a log sink shared by goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// addrPair is two hosts whose Replicators dial each other directly,
// each naming the partner by an address ("tcp:b" on A, "tcp:a" on B)
// as mail_replica does, with Sieve storage per user.
type addrPair struct {
	a, b   *host
	sieveA string // Sieve homes' root
	sieveB string
	log    *lockedBuffer
}

func newAddrPair(t *testing.T) *addrPair {
	p := &addrPair{sieveA: t.TempDir(), sieveB: t.TempDir(), log: &lockedBuffer{}}
	_, cli := testTLS(t)
	cli.InsecureSkipVerify = true
	logger := slog.New(slog.NewTextHandler(p.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sieveFor := func(root string) SieveFunc {
		return func(ctx context.Context, user string) (*sievestore.Store, error) {
			return userSieve(root, user), nil
		}
	}
	server := func(name, root string) func(*Server) {
		return func(s *Server) {
			s.Partner = name
			s.Logger = logger.With("host", name)
			s.Sieve = sieveFor(root)
		}
	}
	p.a = newHostWith(t, "a", server("tcp:b", p.sieveA))
	p.b = newHostWith(t, "b", server("tcp:a", p.sieveB))
	for _, x := range []struct {
		h, other *host
		name     string
		root     string
	}{{p.a, p.b, "tcp:b", p.sieveA}, {p.b, p.a, "tcp:a", p.sieveB}} {
		x.h.rep.Partner = x.name
		x.h.rep.Dialer = &Dialer{Addr: x.other.addr, TLSConfig: cli, Secret: "pw", Partner: x.name}
		x.h.rep.Logger = logger.With("host", x.name)
		x.h.rep.Sieve = sieveFor(x.root)
	}
	return p
}

func userSieve(root, user string) *sievestore.Store {
	home := filepath.Join(root, user)
	return &sievestore.Store{Dir: filepath.Join(home, "sieve"), Active: filepath.Join(home, ".dovecot.sieve")}
}

// syncFrom runs one sync of user driven by h. The partner's Server
// releases the user's lock when its side of the previous sync's
// connection ends, which can be just after that sync returned here; a
// sync that finds the user busy is retried, as the Replicator retries.
func syncFrom(t *testing.T, h *host, user string) {
	t.Helper()
	h.rep.init()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := h.rep.syncUser(context.Background(), user)
		if errors.Is(err, ErrBusy) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("sync driven by %s: %v", h.rep.Partner, err)
		}
		return
	}
}

func expungeBody(t *testing.T, b store.Backend, user, body string) {
	t.Helper()
	u := uidOfBody(b, user, body)
	if u == 0 {
		t.Fatalf("no message %q to expunge", body)
	}
	st, err := b.Open(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	expunge(t, st, "INBOX", u)
}

// TestBothDirectionsOneState: a script and a message created on B reach
// A by a sync B drives; deleted on B, the next sync, driven by A, deletes
// them on A. The Server files the partner-driven syncs' State under its
// own Replicator's name for the partner (Server.Partner); with a State
// per direction, A's sync had no base holding them, took A's copies for
// new, and brought both back to B (the deletion TestReplication-
// SieveScriptsReachPartner in the fullserver once missed).
func TestBothDirectionsOneState(t *testing.T) {
	p := newAddrPair(t)
	ctx := context.Background()
	const user = "alice"
	sb := userSieve(p.sieveB, user)
	if err := sb.Put(ctx, "other", []byte("keep;\n")); err != nil {
		t.Fatal(err)
	}
	deliver(t, p.b.stores, user, "from B\r\n")
	syncFrom(t, p.b, user)
	if _, err := userSieve(p.sieveA, user).Get(ctx, "other"); err != nil || !has(p.a.stores, user, "from B\r\n") {
		t.Fatalf("B's script and message not on A: %v", err)
	}
	if err := sb.Delete(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	expungeBody(t, p.b.stores, user, "from B\r\n")
	syncFrom(t, p.a, user)
	for _, s := range []struct {
		side string
		root string
		b    store.Backend
	}{{"A", p.sieveA, p.a.stores}, {"B", p.sieveB, p.b.stores}} {
		if _, err := userSieve(s.root, user).Get(ctx, "other"); err == nil {
			t.Errorf("script deleted on B is on %s after a sync A drove", s.side)
		}
		if has(s.b, user, "from B\r\n") {
			t.Errorf("message expunged on B is on %s after a sync A drove", s.side)
		}
	}
}

// TestBothSidesStartAtOnce: both Replicators start at the same moment
// with users queued on each side, many times over; every sync either
// runs or finds the user busy and retries, none fails, and the sides
// converge.
func TestBothSidesStartAtOnce(t *testing.T) {
	busy := 0
	for round := range 10 {
		p := newAddrPair(t)
		users := []string{"u1", "u2", "u3"}
		for _, u := range users {
			deliver(t, p.a.stores, u, "A "+u+"\r\n")
			deliver(t, p.b.stores, u, "B "+u+"\r\n")
			p.a.rep.Notify(u, PriorityHigh)
			p.b.rep.Notify(u, PriorityHigh)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var start, wg sync.WaitGroup
		start.Add(1)
		for _, h := range []*host{p.a, p.b} {
			wg.Add(1)
			go func() { defer wg.Done(); start.Wait(); h.rep.Run(ctx) }()
		}
		start.Done()
		for _, u := range users {
			for _, h := range []*host{p.a, p.b} {
				for _, side := range []string{"A", "B"} {
					body := side + " " + u + "\r\n"
					waitFor(t, 10*time.Second, fmt.Sprintf("round %d: %q on %s", round, body, h.rep.Partner), func() bool { return has(h.stores, u, body) })
				}
			}
		}
		// Both queues drain: each side's syncs ran or were answered busy.
		waitFor(t, 10*time.Second, "queues drained", func() bool {
			for _, h := range []*host{p.a, p.b} {
				for _, e := range h.rep.Snapshot().Users {
					if e.Priority != PriorityNone || e.running {
						return false
					}
				}
			}
			return true
		})
		cancel()
		wg.Wait()
		l := p.log.String()
		if strings.Contains(l, "sync failed") || strings.Contains(l, "level=WARN") {
			t.Fatalf("round %d: a sync failed:\n%s", round, l)
		}
		busy += strings.Count(l, "user busy")
	}
	t.Logf("syncs answered busy and retried: %d", busy)
}
