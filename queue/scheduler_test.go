package queue

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// script is a transport whose outcome per recipient address is decided
// by a function, recording every attempt.
type script struct {
	mu       sync.Mutex
	attempts map[string]int
	bodies   map[string][]string
	decide   func(addr string, attempt int) Result
	active   atomic.Int32
	peak     atomic.Int32
	hold     time.Duration
}

func newScript(decide func(addr string, attempt int) Result) *script {
	return &script{attempts: map[string]int{}, bodies: map[string][]string{}, decide: decide}
}

func (s *script) Deliver(ctx context.Context, d *Delivery) []Result {
	n := s.active.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	defer s.active.Add(-1)
	if s.hold > 0 {
		time.Sleep(s.hold)
	}
	rc, err := d.Open()
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	res := make([]Result, len(d.Recipients))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range d.Recipients {
		s.attempts[r.Addr]++
		res[i] = s.decide(r.Addr, s.attempts[r.Addr])
		if res[i].Status == Sent {
			s.bodies[r.Addr] = append(s.bodies[r.Addr], string(body))
		}
	}
	return res
}

func (s *script) count(addr string) (attempts, delivered int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[addr], len(s.bodies[addr])
}

func sent(string, int) Result { return Result{Status: Sent, DSN: "2.0.0", Text: "ok", Relay: "test"} }

// logBuf collects log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestQueue(t *testing.T, tr Transport) (*Queue, *logBuf) {
	t.Helper()
	lb := &logBuf{}
	q := &Queue{
		Dir:        t.TempDir(),
		Hostname:   "mx.example.jp",
		Transports: map[string]Transport{"test": tr, "local": tr},
		Router: RouterFunc(func(ctx context.Context, addr string) (string, string, error) {
			return "test", addr[strings.IndexByte(addr, '@')+1:], nil
		}),
		Logger:     slog.New(slog.NewTextHandler(lb, nil)),
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 40 * time.Millisecond,
		RunDelay:   10 * time.Millisecond,
		NoSync:     true,
	}
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q, lb
}

func enqueue(t *testing.T, q *Queue, from string, body string, to ...string) string {
	t.Helper()
	env := &Envelope{From: from}
	for _, a := range to {
		env.Recipients = append(env.Recipients, Recipient{Addr: a})
	}
	id, err := q.Enqueue(context.Background(), env, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestQueueDeliversAndRemoves(t *testing.T) {
	tr := newScript(sent)
	q, lb := newTestQueue(t, tr)
	id := enqueue(t, q, "a@example.jp", "Subject: x\r\n\r\nhello\r\n", "b@example.net", "c@example.net")
	waitFor(t, "removal", func() bool { return len(q.List()) == 0 })
	for _, a := range []string{"b@example.net", "c@example.net"} {
		if at, got := tr.count(a); at != 1 || got != 1 {
			t.Errorf("%s: %d attempts, %d delivered; want 1, 1", a, at, got)
		}
	}
	log := lb.String()
	for _, want := range []string{id + ": from=<a@example.jp>, size=21, nrcpt=2 (queue active)", id + ": to=<b@example.net>, relay=test, delay=", "dsn=2.0.0, status=sent (ok)", id + ": removed"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// A recipient that got the message is never tried again when another
// of the same message is deferred.
func TestQueuePartialSuccessNotResent(t *testing.T) {
	tr := newScript(func(addr string, n int) Result {
		if addr == "slow@example.net" && n < 3 {
			return Result{Status: Deferred, Code: 451, DSN: "4.3.0", Text: "try later", Remote: true}
		}
		return sent(addr, n)
	})
	q, _ := newTestQueue(t, tr)
	enqueue(t, q, "a@example.jp", "x\r\n", "ok@example.net", "slow@example.net")
	waitFor(t, "delivery", func() bool { return len(q.List()) == 0 })
	if at, got := tr.count("ok@example.net"); at != 1 || got != 1 {
		t.Errorf("ok: %d attempts, %d delivered; want 1, 1", at, got)
	}
	if at, got := tr.count("slow@example.net"); at != 3 || got != 1 {
		t.Errorf("slow: %d attempts, %d delivered; want 3, 1", at, got)
	}
}

func TestQueueBounceNotifiesSender(t *testing.T) {
	tr := newScript(func(addr string, n int) Result {
		if addr == "gone@example.net" {
			return Result{Status: Bounced, Code: 550, DSN: "5.1.1", Text: "host x said: 550 5.1.1 unknown", Remote: true}
		}
		return sent(addr, n)
	})
	q, lb := newTestQueue(t, tr)
	id := enqueue(t, q, "sender@example.jp", "Subject: hi\r\n\r\nbody\r\n", "gone@example.net", "ok@example.net")
	waitFor(t, "bounce delivery", func() bool { _, n := tr.count("sender@example.jp"); return n == 1 })
	waitFor(t, "empty queue", func() bool { return len(q.List()) == 0 })
	if !strings.Contains(lb.String(), id+": sender non-delivery notification: ") {
		t.Errorf("no bounce log line:\n%s", lb.String())
	}
	tr.mu.Lock()
	dsn := tr.bodies["sender@example.jp"][0]
	tr.mu.Unlock()
	if !strings.Contains(dsn, "gone@example.net") || strings.Contains(dsn, "<ok@example.net>") {
		t.Errorf("DSN does not name just the failed recipient:\n%s", dsn)
	}
	// A bounce of a bounce is never sent.
	enqueue(t, q, "", "x\r\n", "gone@example.net")
	waitFor(t, "null sender bounce", func() bool {
		return strings.Contains(lb.String(), "sender non-delivery notification: none (null sender)")
	})
	if _, n := tr.count(""); n != 0 {
		t.Errorf("something was sent to the null sender")
	}
}

func TestQueueExpiresDeferred(t *testing.T) {
	tr := newScript(func(addr string, n int) Result {
		if addr == "sender@example.jp" {
			return sent(addr, n)
		}
		return Result{Status: Deferred, Text: "connect to x[192.0.2.1]:25: Connection refused"}
	})
	q, lb := newTestQueue(t, tr)
	q.MaxLifetime = 150 * time.Millisecond
	id := enqueue(t, q, "sender@example.jp", "x\r\n", "never@example.net")
	waitFor(t, "expiry", func() bool {
		return strings.Contains(lb.String(), id+": from=<sender@example.jp>, status=expired, returned to sender")
	})
	waitFor(t, "bounce to sender", func() bool { _, n := tr.count("sender@example.jp"); return n == 1 })
	if at, _ := tr.count("never@example.net"); at < 2 {
		t.Errorf("only %d attempts before expiry", at)
	}
}

func TestQueueDestinationConcurrency(t *testing.T) {
	tr := newScript(sent)
	tr.hold = 20 * time.Millisecond
	q, _ := newTestQueue(t, tr)
	q.DestinationConcurrency = 3
	q.InitialDestinationConcurrency = 2
	for i := 0; i < 30; i++ {
		enqueue(t, q, "a@example.jp", "x\r\n", "r@example.net")
	}
	waitFor(t, "delivery", func() bool { return len(q.List()) == 0 })
	if p := tr.peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency to one destination %d, want 2..3", p)
	}
}

func TestQueueHoldReleaseDelete(t *testing.T) {
	tr := newScript(sent)
	q, _ := newTestQueue(t, tr)
	env := &Envelope{From: "a@example.jp", Recipients: []Recipient{{Addr: "h@example.net"}}, Hold: true}
	id, err := q.Enqueue(context.Background(), env, strings.NewReader("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := q.List()
	if len(l) != 1 || l[0].Queue != "hold" || l[0].ID != id {
		t.Fatalf("listing %+v, want the held message", l)
	}
	time.Sleep(30 * time.Millisecond)
	if at, _ := tr.count("h@example.net"); at != 0 {
		t.Fatalf("held message was delivered")
	}
	if n, err := q.Release(id); n != 1 || err != nil {
		t.Fatalf("Release = %d, %v", n, err)
	}
	waitFor(t, "delivery after release", func() bool { _, n := tr.count("h@example.net"); return n == 1 })

	blocked := newScript(func(string, int) Result { return Result{Status: Deferred, Text: "later"} })
	q.Transports["test"] = blocked
	id2 := enqueue(t, q, "a@example.jp", "x\r\n", "d@example.net")
	waitFor(t, "deferral", func() bool { l := q.List(); return len(l) == 1 && l[0].Queue == "deferred" })
	if n, err := q.Hold(id2); n != 1 || err != nil {
		t.Fatalf("Hold = %d, %v", n, err)
	}
	waitFor(t, "held", func() bool { l := q.List(); return len(l) == 1 && l[0].Queue == "hold" })
	if n, err := q.Delete("ALL"); n != 1 || err != nil {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if l := q.List(); len(l) != 0 {
		t.Fatalf("after delete: %+v", l)
	}
	if _, err := q.Hold("NOSUCHID"); err == nil {
		t.Errorf("Hold of a missing id: no error")
	}
}

func TestQueueHopcountLimit(t *testing.T) {
	tr := newScript(sent)
	q, lb := newTestQueue(t, tr)
	q.HopcountLimit = 3
	hdr := strings.Repeat("Received: from x by y\r\n", 4) + "Subject: loop\r\n\r\nbody\r\n"
	id := enqueue(t, q, "", hdr, "r@example.net")
	waitFor(t, "bounce", func() bool { return strings.Contains(lb.String(), id+": to=<r@example.net>") })
	if !strings.Contains(lb.String(), "dsn=5.4.6, status=bounced (hop count exceeded - possible mail loop)") {
		t.Errorf("log:\n%s", lb.String())
	}
	if at, _ := tr.count("r@example.net"); at != 0 {
		t.Errorf("looping message was delivered")
	}
}

func TestHopReader(t *testing.T) {
	for _, c := range []struct {
		in   string
		hops int
	}{
		{"Received: a\r\nreceived: b\r\nRECEIVED:c\r\n\r\nReceived: body\r\n", 3},
		{"Subject: x\nReceived: a\n\nReceived: b\n", 1},
		{"X-Received: a\r\n Received: folded\r\n\r\n", 0},
		{"", 0},
	} {
		for _, chunk := range []int{1, 3, 1000} {
			h := newHopReader(&chunkReader{s: c.in, n: chunk})
			io.Copy(io.Discard, h)
			if h.hops != c.hops {
				t.Errorf("%q in chunks of %d: %d hops, want %d", c.in, chunk, h.hops, c.hops)
			}
		}
	}
}

type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.s))
	copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}
