package serve

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// lineSession echoes lines; Drain makes it say "bye" and end, unless it
// is stubborn, in which case only Abort ends it.
type lineSession struct {
	conn     net.Conn
	stubborn bool
	drained  atomic.Bool
	aborted  atomic.Bool
}

func (s *lineSession) Drain() {
	s.drained.Store(true)
	if !s.stubborn {
		s.conn.SetReadDeadline(time.Now())
	}
}

func (s *lineSession) Abort() {
	s.aborted.Store(true)
	s.conn.Close()
}

type testServer struct {
	g        Group
	stubborn bool
	mu       sync.Mutex
	all      []*lineSession
}

func (ts *testServer) handle(c net.Conn) {
	defer c.Close()
	s := &lineSession{conn: c, stubborn: ts.stubborn}
	ts.mu.Lock()
	ts.all = append(ts.all, s)
	ts.mu.Unlock()
	if !ts.g.Track(s) {
		c.Write([]byte("closing\n"))
		return
	}
	defer ts.g.Untrack(s)
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if s.drained.Load() {
				c.Write([]byte("bye\n"))
			}
			return
		}
		c.Write([]byte(line))
	}
}

func startTestServer(t *testing.T, stubborn bool) (*testServer, string, chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{stubborn: stubborn}
	served := make(chan error, 1)
	go func() { served <- ts.g.Serve(l, ts.handle) }()
	return ts, l.Addr().String(), served
}

func dialEcho(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	c.Write([]byte("hello\n"))
	if line, err := r.ReadString('\n'); err != nil || line != "hello\n" {
		t.Fatalf("echo: %q, %v", line, err)
	}
	return c, r
}

func TestShutdownDrainsSessions(t *testing.T) {
	ts, addr, served := startTestServer(t, false)
	_, r1 := dialEcho(t, addr)
	_, r2 := dialEcho(t, addr)
	if n := ts.g.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	if err := ts.g.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, r := range []*bufio.Reader{r1, r2} {
		if line, _ := r.ReadString('\n'); line != "bye\n" {
			t.Errorf("drained session said %q, want bye", line)
		}
	}
	if err := <-served; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve returned %v, want ErrClosed", err)
	}
	if n := ts.g.Len(); n != 0 {
		t.Errorf("Len after Shutdown = %d", n)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("listener still accepts after Shutdown")
	}
}

func TestShutdownDeadlineAborts(t *testing.T) {
	ts, addr, _ := startTestServer(t, true)
	dialEcho(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ts.g.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.all) != 1 || !ts.all[0].drained.Load() || !ts.all[0].aborted.Load() {
		t.Fatalf("stubborn session not drained then aborted")
	}
}

func TestTrackAndServeAfterShutdown(t *testing.T) {
	var g Group
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !g.Closing() {
		t.Error("Closing = false after Shutdown")
	}
	if g.Track(&lineSession{}) {
		t.Error("Track succeeded after Shutdown")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Serve(l, func(net.Conn) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Error("Serve after Shutdown left the listener open")
	}
}

// flakyListener fails Accept a few times, alternating a timeout and an
// error that claims nothing, before handing out one end of a pipe; then
// it reports that it was closed.
type flakyListener struct {
	fails int
	conn  net.Conn
	calls int
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "accept: temporary" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var errOdd = errors.New("accept: something odd")

func (l *flakyListener) Accept() (net.Conn, error) {
	l.calls++
	switch {
	case l.calls <= l.fails && l.calls%2 == 1:
		return nil, timeoutErr{}
	case l.calls <= l.fails:
		return nil, errOdd
	case l.conn != nil:
		c := l.conn
		l.conn = nil
		return c, nil
	}
	return nil, net.ErrClosed
}
func (l *flakyListener) Close() error   { return nil }
func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// TestServeRetriesAcceptErrors: Accept errors of any kind are retried;
// only a closed listener ends Serve; one episode is logged once when it
// starts and once when it ends.
func TestServeRetriesAcceptErrors(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	l := &flakyListener{fails: 4, conn: a}
	var g Group
	var logs testutil.SyncBuffer
	g.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	handled := make(chan struct{})
	err := g.Serve(l, func(c net.Conn) { c.Close(); close(handled) })
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve = %v, want net.ErrClosed", err)
	}
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection after the errors was not handled")
	}
	if l.calls != 6 {
		t.Errorf("Accept called %d times, want 6", l.calls)
	}
	out := logs.String()
	if n := strings.Count(out, "accept failed"); n != 1 {
		t.Errorf("%d 'accept failed' lines, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "accepting again") || !strings.Contains(out, "errors=4") {
		t.Errorf("end of the episode not logged with its count:\n%s", out)
	}
}
