package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Serve once the Group is shutting down or
// closed. Each server returns its own exported error in its place.
var ErrClosed = errors.New("serve: server closed")

// Session is a live session as a Group sees it.
type Session interface {
	// Drain asks the session to end at its next safe moment, with its
	// protocol's goodbye: at once when idle, after the running command or
	// transaction otherwise. It must not block nor call back into the
	// Group (it runs under the Group's lock).
	Drain()
	// Abort closes the session's connection at once. The same rules as
	// for Drain apply.
	Abort()
}

// Group tracks one server's listeners and sessions. The zero value is
// ready to use; a Group must not be copied after first use.
type Group struct {
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[Session]struct{}
	wg        sync.WaitGroup
	closed    atomic.Bool
	log       *slog.Logger
	slots     chan struct{} // process limit: one token per running handler
	limitName string
	limitHit  atomic.Bool // the limit was reached and not yet logged again
}

// SetProcessLimit makes Serve stop accepting while n handlers run, as
// Postfix's master stops accepting for a service that has reached its
// process_limit: new clients wait in the listen backlog rather than
// being refused. name names the service in the warning logged when the
// limit is reached. n <= 0 means no limit. Call it before Serve.
func (g *Group) SetProcessLimit(n int, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limitName = name
	switch {
	case n <= 0:
		g.slots = nil
	case g.slots == nil || cap(g.slots) != n:
		// Handlers running now took no slot; they are not counted.
		g.slots = make(chan struct{}, n)
	}
}

// acquire waits for a handler slot and returns the slots it took one
// of (nil without a limit); false when the Group closed meanwhile.
func (g *Group) acquire(l net.Listener) (chan struct{}, bool) {
	g.mu.Lock()
	slots := g.slots
	g.mu.Unlock()
	if slots == nil {
		return nil, true
	}
	select {
	case slots <- struct{}{}:
		return slots, true
	default:
	}
	if !g.limitHit.Swap(true) {
		g.logger().Warn(fmt.Sprintf("service %q (%s) has reached its process limit %d: new clients may experience noticeable delays", g.limitName, l.Addr(), cap(slots)))
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case slots <- struct{}{}:
			return slots, true
		case <-t.C:
			if g.closed.Load() {
				return nil, false
			}
		}
	}
}

// release gives back a slot that acquire took.
func (g *Group) release(slots chan struct{}) {
	if slots != nil {
		<-slots
		if len(slots) == 0 {
			g.limitHit.Store(false)
		}
	}
}

// Accept back-off, as net/http's: the first retry after 5 ms, doubling
// up to a second.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
	// acceptEpisodeGap: Accept errors less than this apart belong to
	// one episode, logged once when it starts and once when Accept
	// first succeeds again.
	acceptEpisodeGap = 10 * time.Second
)

// SetLogger sets where Serve reports accept errors (nil: nowhere). A
// server calls it before Serve; it is safe to call at any time.
func (g *Group) SetLogger(l *slog.Logger) {
	g.mu.Lock()
	g.log = l
	g.mu.Unlock()
}

func (g *Group) logger() *slog.Logger {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.log
}

// Serve accepts connections on l and runs handle for each in its own
// goroutine until the Group shuts down or l is closed by someone else.
// A failing Accept never ends it: whatever the error (running out of
// file descriptors, EMFILE/ENFILE; a connection reset before it was
// accepted; a timeout), Serve waits 5 ms, doubling up to a second while
// the errors go on, and tries again, as net/http does, logging the
// first error of each such episode and its end. It closes l when it
// returns, and returns ErrClosed after Shutdown or Close, or l's error
// when l was closed (net.ErrClosed). Shutdown waits for every handle
// call to return.
func (g *Group) Serve(l net.Listener, handle func(net.Conn)) error {
	if !g.addListener(l) {
		l.Close()
		return ErrClosed
	}
	defer g.removeListener(l)
	var (
		delay     time.Duration
		lastErr   time.Time // of the current episode of errors
		failed    int       // Accept errors in the current episode
		recovered bool      // its end was logged
	)
	for {
		slots, ok := g.acquire(l)
		if !ok {
			return ErrClosed
		}
		c, err := l.Accept()
		if err != nil {
			g.release(slots)
			if g.closed.Load() {
				return ErrClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			now := time.Now()
			if failed == 0 || now.Sub(lastErr) > acceptEpisodeGap {
				g.logger().Error("serve: accept failed; retrying with back-off", "listener", l.Addr().String(), "err", err)
				failed, recovered = 0, false
			}
			failed++
			lastErr = now
			delay = min(max(2*delay, minAcceptDelay), maxAcceptDelay)
			time.Sleep(delay)
			continue
		}
		if failed > 0 && !recovered {
			g.logger().Warn("serve: accepting again", "listener", l.Addr().String(), "errors", failed)
			recovered = true
		}
		delay = 0
		if !g.begin() {
			g.release(slots)
			c.Close()
			return ErrClosed
		}
		go func() {
			defer g.wg.Done()
			defer g.release(slots)
			handle(c)
		}()
	}
}

// begin counts one more running handler unless the Group is closed. The
// count is taken under the mutex that Shutdown holds while it marks the
// Group closed, so no handler starts after Shutdown began waiting.
func (g *Group) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *Group) addListener(l net.Listener) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return false
	}
	if g.listeners == nil {
		g.listeners = make(map[net.Listener]struct{})
	}
	g.listeners[l] = struct{}{}
	return true
}

func (g *Group) removeListener(l net.Listener) {
	g.mu.Lock()
	delete(g.listeners, l)
	g.mu.Unlock()
	l.Close()
}

// Track registers a live session so that Shutdown drains it and Close
// aborts it. It returns false, registering nothing, when the Group is
// already shutting down: the session should then say goodbye and end.
func (g *Group) Track(s Session) bool {
	_, ok := g.TrackCounting(s)
	return ok
}

// TrackCounting is Track that also returns how many other sessions were
// tracked at that moment, for a server that refuses sessions over a
// limit with a protocol reply.
func (g *Group) TrackCounting(s Session) (others int, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return len(g.sessions), false
	}
	if g.sessions == nil {
		g.sessions = make(map[Session]struct{})
	}
	others = len(g.sessions)
	g.sessions[s] = struct{}{}
	return others, true
}

// Untrack forgets a session that ended.
func (g *Group) Untrack(s Session) {
	g.mu.Lock()
	delete(g.sessions, s)
	g.mu.Unlock()
}

// Closing reports whether Shutdown or Close has been called.
func (g *Group) Closing() bool { return g.closed.Load() }

// Len returns the number of tracked sessions.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

// Shutdown stops accepting, drains every tracked session and waits for
// all handlers to return or ctx to be done; then it aborts the sessions
// left, waits for their handlers, and returns ctx's error.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed.Store(true)
	for l := range g.listeners {
		l.Close()
	}
	for s := range g.sessions {
		s.Drain()
	}
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		g.Close()
		<-done
		return ctx.Err()
	}
}

// Close stops accepting and aborts every tracked session at once. It
// does not wait for the handlers.
func (g *Group) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed.Store(true)
	for l := range g.listeners {
		l.Close()
	}
	for s := range g.sessions {
		s.Abort()
	}
	return nil
}

// Each calls fn for every tracked session, under the Group's lock: fn
// must not block nor call back into the Group.
func (g *Group) Each(fn func(Session)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s := range g.sessions {
		fn(s)
	}
}
