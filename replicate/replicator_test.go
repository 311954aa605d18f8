package replicate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// proxy forwards 127.0.0.1 connections to a target and can cut them.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// cut closes every connection and refuses new ones while down.
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// host is one server of a replicated pair: a Backend of Maildirs, a
// Server for the partner, a Replicator toward it, and the watched
// Backend clients use.
type host struct {
	stores  *maildir.Backend
	watched store.Backend
	srv     *Server
	rep     *Replicator
	addr    string
}

func newHost(t *testing.T, name string) *host { return newHostWith(t, name, nil) }

// newHostWith is newHost with the Server configured by setup before it
// serves.
func newHostWith(t *testing.T, name string, setup func(*Server)) *host {
	root := t.TempDir()
	b := maildir.NewBackend(func(ctx context.Context, user string) (string, error) {
		return root + "/" + user, nil
	}, maildir.Options{NoSync: true, Hostname: name})
	t.Cleanup(func() { b.Close() })
	srvTLS, _ := testTLS(t)
	locks := &UserLocks{}
	states := &StateStore{Dir: t.TempDir(), NoSync: true}
	h := &host{stores: b}
	h.srv = &Server{Backend: b, States: states, Secret: "pw", TLSConfig: srvTLS, Locks: locks}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	if setup != nil {
		setup(h.srv)
	}
	go h.srv.Serve(ln)
	t.Cleanup(func() { h.srv.Close() })
	h.rep = &Replicator{Backend: b, States: states, Locks: locks, Partner: "partner", FailureRetry: 300 * time.Millisecond}
	h.watched = WatchBackend(b, h.rep)
	return h
}

// pairUp points each host's Replicator at the other through a proxy.
func pairUp(t *testing.T, a, b *host) (*proxy, *proxy) {
	_, cli := testTLS(t)
	cli.InsecureSkipVerify = true // each host has its own self-signed test certificate
	pa, pb := newProxy(t, b.addr), newProxy(t, a.addr)
	a.rep.Dialer = &Dialer{Addr: pa.ln.Addr().String(), TLSConfig: cli, Secret: "pw", Partner: "partner"}
	b.rep.Dialer = &Dialer{Addr: pb.ln.Addr().String(), TLSConfig: cli, Secret: "pw", Partner: "partner"}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, h := range []*host{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); h.rep.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return pa, pb
}

func deliver(t *testing.T, b store.Backend, user, body string) {
	t.Helper()
	ctx := context.Background()
	st, err := b.Open(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Append(ctx, strings.NewReader(body), store.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}

func has(b store.Backend, user, body string) bool { return uidOfBody(b, user, body) != 0 }

// uidOfBody returns the UID of a message of user's INBOX whose bytes are
// body (0: none).
func uidOfBody(b store.Backend, user, body string) uint32 {
	ctx := context.Background()
	st, err := b.Open(ctx, user)
	if err != nil {
		return 0
	}
	defer st.Close()
	h, err := st.OpenMailbox(ctx, "INBOX", store.OpenOptions{ReadOnly: true})
	if err != nil {
		return 0
	}
	defer h.Close()
	var uids []uint32
	h.Messages(ctx, nil, func(m *store.MessageInfo) error { uids = append(uids, m.UID); return nil })
	for _, u := range uids {
		r, err := h.Open(ctx, u)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if bytes.Equal(b, []byte(body)) {
			return u
		}
	}
	return 0
}

func waitFor(t *testing.T, d time.Duration, what string, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if f() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, d)
	return 0
}

// A change made through one host's stores reaches the other within a
// second, in both directions; the replicator's status reports the user.
func TestReplicatorChangeReachesPartnerWithinASecond(t *testing.T) {
	a, b := newHost(t, "a"), newHost(t, "b")
	pairUp(t, a, b)
	deliver(t, a.watched, "alice", "hello from A\r\n")
	lag := waitFor(t, 5*time.Second, "A's delivery on B", func() bool { return has(b.stores, "alice", "hello from A\r\n") })
	if lag > time.Second {
		t.Errorf("replicated after %v, want under a second", lag)
	}
	deliver(t, b.watched, "alice", "hello from B\r\n")
	waitFor(t, 5*time.Second, "B's delivery on A", func() bool { return has(a.stores, "alice", "hello from B\r\n") })
	var buf bytes.Buffer
	snap := a.rep.Snapshot()
	WriteUserStatus(&buf, time.Now(), snap.UserStatuses("ali*"))
	if !strings.Contains(buf.String(), "alice") || !strings.HasPrefix(buf.String(), "username") {
		t.Errorf("status:\n%s", buf.String())
	}
}

// With the network between the hosts cut, changes queue up (the user is
// marked failed and retried with backoff); restored, they converge.
func TestReplicatorNetworkCutAndRestored(t *testing.T) {
	a, b := newHost(t, "a"), newHost(t, "b")
	pa, pb := pairUp(t, a, b)
	deliver(t, a.watched, "bob", "before\r\n")
	waitFor(t, 5*time.Second, "first copy", func() bool { return has(b.stores, "bob", "before\r\n") })
	pa.cut(true)
	pb.cut(true)
	for i := 0; i < 5; i++ {
		deliver(t, a.watched, "bob", fmt.Sprintf("during A %d\r\n", i))
		deliver(t, b.watched, "bob", fmt.Sprintf("during B %d\r\n", i))
	}
	waitFor(t, 5*time.Second, "a failure noted", func() bool {
		s := a.rep.Snapshot()
		return s.Users["bob"] != nil && s.Users["bob"].Failures > 0
	})
	pa.cut(false)
	pb.cut(false)
	for i := 0; i < 5; i++ {
		body := fmt.Sprintf("during B %d\r\n", i)
		waitFor(t, 10*time.Second, "catch-up on A", func() bool { return has(a.stores, "bob", body) })
		body = fmt.Sprintf("during A %d\r\n", i)
		waitFor(t, 10*time.Second, "catch-up on B", func() bool { return has(b.stores, "bob", body) })
	}
}

func inboxCount(b store.Backend, user string) uint32 {
	ctx := context.Background()
	st, err := b.Open(ctx, user)
	if err != nil {
		return 0
	}
	defer st.Close()
	s, err := st.Status(ctx, "INBOX")
	if err != nil {
		return 0
	}
	return s.Messages
}

// Replication lag under a steady delivery load spread over many users:
// the time from a delivery on A until B's INBOX of that user holds as
// many messages.
func TestReplicatorLagUnderLoad(t *testing.T) {
	if os.Getenv("YUBIN_REPLICATE_PERF") == "" {
		t.Skip("a timing figure on a shared machine: set YUBIN_REPLICATE_PERF=1 to measure")
	}
	a, b := newHost(t, "a"), newHost(t, "b")
	a.rep.MaxConns = 10
	pairUp(t, a, b)
	// YUBIN_REPLICATE_PERF=USERSxRATE (e.g. 1000x100) sets the load;
	// anything else means 200 users at 50 deliveries/s.
	// YUBIN_REPLICATE_SECONDS sets how long the load lasts (default 4).
	users, rate, seconds := 200, 50, 4
	if n, err := strconv.Atoi(os.Getenv("YUBIN_REPLICATE_SECONDS")); err == nil && n > 0 {
		seconds = n
	}
	if u, r, ok := strings.Cut(os.Getenv("YUBIN_REPLICATE_PERF"), "x"); ok {
		if n, err := strconv.Atoi(u); err == nil && n > 0 {
			users = n
		}
		if n, err := strconv.Atoi(r); err == nil && n > 0 {
			rate = n
		}
	}
	type probe struct {
		user  string
		count uint32
		start time.Time
	}
	probes := make(chan probe, rate*seconds)
	var lags []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		var pending []probe
		deadline := time.Now().Add(time.Duration(seconds)*time.Second + 30*time.Second)
		for time.Now().Before(deadline) {
			for more := true; more; {
				select {
				case p, ok := <-probes:
					if !ok {
						more = false
						probes = nil
						break
					}
					pending = append(pending, p)
				default:
					more = false
				}
			}
			kept := pending[:0]
			for _, p := range pending {
				if inboxCount(b.stores, p.user) >= p.count {
					lags = append(lags, time.Since(p.start))
				} else {
					kept = append(kept, p)
				}
			}
			pending = kept
			if probes == nil && len(pending) == 0 {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	counts := map[string]uint32{}
	for i := 0; i < rate*seconds; i++ {
		<-tick.C
		user := fmt.Sprintf("u%03d", i%users)
		start := time.Now()
		deliver(t, a.watched, user, fmt.Sprintf("load %d\r\n", i))
		counts[user]++
		probes <- probe{user, counts[user], start}
	}
	close(probes)
	<-done
	if len(lags) != rate*seconds {
		t.Fatalf("%d of %d deliveries replicated", len(lags), rate*seconds)
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	t.Logf("replication lag over %d users at %d deliveries/s: p50 %v, p99 %v, max %v", users, rate, p50, p99, lags[len(lags)-1])
	if p99 > 2*time.Second {
		t.Errorf("p99 lag %v over 2 s", p99)
	}
}
