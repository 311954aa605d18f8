package privsep

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
)

// fakeDB is a PassDB for the wire tests: "pw" is every user's password,
// user "nobody" does not exist, user "slow" waits for release, user
// "down" is a temporary failure. It records the ConnInfo it saw.
type fakeDB struct {
	mu      sync.Mutex
	seen    []*auth.ConnInfo
	release chan struct{}
}

func (f *fakeDB) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	f.mu.Lock()
	f.seen = append(f.seen, auth.ConnInfoFrom(ctx))
	f.mu.Unlock()
	switch user {
	case "nobody":
		return nil, auth.ErrUnknownUser
	case "down":
		return nil, fmt.Errorf("%w: database down", auth.ErrTempFail)
	case "slow":
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if password != "pw" {
		return nil, auth.ErrAuthFailed
	}
	return &auth.Identity{User: "Norm-" + user, Fields: map[string]string{"userdb_home": "/home/" + user}}, nil
}

// pair starts a Server with db as "pam" over a unix socket pair and
// returns its Client and a channel with Serve's result.
func pair(t *testing.T, db auth.PassDB) (*Client, net.Conn, chan error) {
	t.Helper()
	a, b := socketPair(t)
	srv := &Server{DBs: map[string]auth.PassDB{"pam": db}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), b) }()
	c := NewClient(a)
	t.Cleanup(func() { c.Close() })
	return c, b, done
}

func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("unix", t.TempDir()+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestResults(t *testing.T) {
	t.Parallel()
	db := &fakeDB{}
	c, _, _ := pair(t, db)
	pam := c.PassDB("pam")
	ctx := auth.WithConnInfo(context.Background(), &auth.ConnInfo{
		Service:    "imap",
		RemoteAddr: net.TCPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.7:40000")),
		LocalAddr:  net.TCPAddrFromAddrPort(netip.MustParseAddrPort("[2001:db8::1]:143")),
	})
	id, err := pam.Authenticate(ctx, "alice", "pw")
	if err != nil || id.User != "Norm-alice" || id.Fields["userdb_home"] != "/home/alice" {
		t.Fatalf("right password: %+v, %v", id, err)
	}
	if _, err := pam.Authenticate(ctx, "alice", "wrong"); !errors.Is(err, auth.ErrAuthFailed) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := pam.Authenticate(ctx, "nobody", "pw"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := pam.Authenticate(ctx, "down", "pw"); !errors.Is(err, auth.ErrTempFail) || errors.Is(err, auth.ErrAuthFailed) {
		t.Errorf("database down: %v", err)
	}
	db.mu.Lock()
	ci := db.seen[0]
	db.mu.Unlock()
	if ci == nil || ci.Service != "imap" || ci.RemoteAddr.String() != "192.0.2.7:40000" || ci.LocalAddr.String() != "[2001:db8::1]:143" || ci.TLS != nil {
		t.Errorf("the worker saw connection %+v", ci)
	}
}

// TestOnlyItsDatabases: a name the worker was not started with is
// refused (temporarily), not served by some other database.
func TestOnlyItsDatabases(t *testing.T) {
	t.Parallel()
	c, _, _ := pair(t, &fakeDB{})
	if _, err := c.PassDB("sql").Authenticate(context.Background(), "alice", "pw"); !errors.Is(err, auth.ErrTempFail) {
		t.Fatalf("unknown database: %v", err)
	}
}

// TestConcurrentOutOfOrder: a slow check does not hold up the others,
// and every answer reaches its own caller.
func TestConcurrentOutOfOrder(t *testing.T) {
	t.Parallel()
	db := &fakeDB{release: make(chan struct{})}
	c, _, _ := pair(t, db)
	pam := c.PassDB("pam")
	slow := make(chan error, 1)
	go func() {
		_, err := pam.Authenticate(context.Background(), "slow", "pw")
		slow <- err
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, pass := fmt.Sprintf("u%d", i), "pw"
			if i%3 == 0 {
				pass = "bad"
			}
			id, err := pam.Authenticate(context.Background(), user, pass)
			switch {
			case i%3 == 0 && !errors.Is(err, auth.ErrAuthFailed):
				errs <- fmt.Errorf("%s with a wrong password: %v", user, err)
			case i%3 != 0 && (err != nil || id.User != "Norm-"+user):
				errs <- fmt.Errorf("%s: %+v, %v", user, id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	select {
	case err := <-slow:
		t.Fatalf("the slow check finished before it was released: %v", err)
	default:
	}
	close(db.release)
	if err := <-slow; err != nil {
		t.Fatalf("slow check: %v", err)
	}
}

// TestWorkerGone: when the worker's end closes, waiting and later checks
// are temporary failures, never wrong passwords, and come at once.
func TestWorkerGone(t *testing.T) {
	t.Parallel()
	db := &fakeDB{release: make(chan struct{})}
	c, workerEnd, done := pair(t, db)
	pam := c.PassDB("pam")
	waiting := make(chan error, 1)
	go func() {
		_, err := pam.Authenticate(context.Background(), "slow", "pw")
		waiting <- err
	}()
	time.Sleep(50 * time.Millisecond)
	workerEnd.Close()
	select {
	case err := <-waiting:
		if !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("waiting check: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting check hung after the worker went away")
	}
	if _, err := pam.Authenticate(context.Background(), "alice", "pw"); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("check after the worker went away: %v", err)
	}
	close(db.release)
	<-done
}

// TestContextEnds: a check whose context ends while the worker is busy
// returns a temporary failure then, not when the worker answers.
func TestContextEnds(t *testing.T) {
	t.Parallel()
	db := &fakeDB{release: make(chan struct{})}
	defer close(db.release)
	c, _, _ := pair(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.PassDB("pam").Authenticate(ctx, "slow", "pw")
	if !errors.Is(err, auth.ErrTempFail) || time.Since(start) > 3*time.Second {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
}

// TestMalformedFrames: an oversized length or bad JSON ends the
// connection with an error, and nothing of an oversized frame is read.
func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	for name, in := range map[string][]byte{
		"oversized": binary.BigEndian.AppendUint32(nil, MaxFrame+1),
		"not json":  append(binary.BigEndian.AppendUint32(nil, 3), "{{{"...),
		"short":     append(binary.BigEndian.AppendUint32(nil, 100), "{}"...),
	} {
		srv := &Server{DBs: map[string]auth.PassDB{"pam": &fakeDB{}}}
		conn := &bufConn{r: bytes.NewReader(in)}
		if err := srv.Serve(context.Background(), conn); err == nil {
			t.Errorf("%s: Serve returned nil", name)
		}
	}
}

// bufConn reads from r and discards writes.
type bufConn struct {
	r *bytes.Reader
	w bytes.Buffer
}

func (b *bufConn) Read(p []byte) (int, error)  { return b.r.Read(p) }
func (b *bufConn) Write(p []byte) (int, error) { return b.w.Write(p) }
func (b *bufConn) Close() error                { return nil }

// FuzzServe feeds arbitrary bytes to a worker: it answers or stops,
// never panics or hangs.
func FuzzServe(f *testing.F) {
	var seed bytes.Buffer
	writeFrame(&seed, &request{ID: 1, DB: "pam", User: "alice", Password: "pw", Remote: "192.0.2.1:1"})
	f.Add(seed.Bytes())
	f.Add(binary.BigEndian.AppendUint32(nil, 0xffffffff))
	f.Fuzz(func(t *testing.T, in []byte) {
		srv := &Server{DBs: map[string]auth.PassDB{"pam": &fakeDB{}}}
		conn := &bufConn{r: bytes.NewReader(in)}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Serve(ctx, conn)
	})
}
