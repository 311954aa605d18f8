package testutil

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers of the abuse suites (TestAbuse… in smtp, lmtp, imap, pop3 and
// internal/serve): probes bounded in time, memory measured before and
// after, and a server re-executed in a child process with a lowered
// descriptor limit.

// SyncBuffer is a bytes.Buffer safe for concurrent writers: a log
// destination shared by a server's sessions, or a child's stderr.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bounded runs fn and fails the test when it takes longer than d.
func Bounded(t testing.TB, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("probe not done within %v", d)
	}
}

// HeapInUse returns the bytes of heap in use after a collection.
func HeapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// CheckHeap fails when the heap grew by more than max bytes since
// before (from HeapInUse): a probe's memory bound.
func CheckHeap(t testing.TB, what string, before, max uint64) {
	t.Helper()
	grew := int64(HeapInUse()) - int64(before)
	t.Logf("%s: heap in use grew by %d KiB", what, grew>>10)
	if grew > int64(max) {
		t.Errorf("%s: heap grew by %d MiB, want at most %d MiB", what, grew>>20, max>>20)
	}
}

// RSSKiB returns the process's resident set size in KiB (0 when /proc
// is not there).
func RSSKiB() int64 { return rssOf("self") }

// ProcRSSKiB returns the resident set size of process pid in KiB (0
// when it cannot be read).
func ProcRSSKiB(pid int) int64 { return rssOf(strconv.Itoa(pid)) }

func rssOf(proc string) int64 {
	b, err := os.ReadFile("/proc/" + proc + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// MemCheck measures the resident memory before a probe; the function it
// returns fails the test when it grew by more than maxMB (times
// RaceFactor: the race detector's shadow memory).
func MemCheck(t testing.TB, maxMB int64) func() {
	runtime.GC()
	before := RSSKiB()
	return func() {
		t.Helper()
		runtime.GC()
		limit := maxMB * RaceFactor
		if grown := (RSSKiB() - before) / 1024; before > 0 && grown > limit {
			t.Errorf("resident memory grew by %d MiB (limit %d MiB)", grown, limit)
		}
	}
}

// StartChild re-executes the test binary running only the test named
// child, with the environment variable env set to value, and waits for
// the line "ADDR host:port" the child prints on its standard output
// once it serves. It returns that address and the child's standard
// error. The child should run until its standard input closes, which
// happens when the test ends; it is killed if it has not exited 5 s
// later.
func StartChild(t testing.TB, child, env, value string) (addr string, stderr *SyncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$")
	cmd.Env = append(os.Environ(), env+"="+value)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	line, rerr := br.ReadString('\n')
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, br); cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	if rerr != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("child %s said %q, %v:\n%s", child, line, rerr, stderr.String())
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "ADDR ")), stderr
}

// FloodDescriptors opens up to n connections to addr at once, waits
// until the server's log says "too many open files" (its Accept failed
// with EMFILE), then closes them all. It fails the test when the flood
// did not exhaust the server's descriptors within 5 s.
func FloodDescriptors(t testing.TB, addr string, n int, log *SyncBuffer) {
	t.Helper()
	var (
		mu    sync.Mutex
		flood []net.Conn
		wg    sync.WaitGroup
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return // the backlog is full: flooded enough
			}
			mu.Lock()
			flood = append(flood, nc)
			mu.Unlock()
		}()
	}
	wg.Wait()
	defer func() {
		for _, nc := range flood {
			nc.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "too many open files") {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections did not exhaust the descriptors:\n%s", len(flood), log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Crowd is what OpenCrowd saw of the connections it opened.
type Crowd struct {
	Conns    []net.Conn      // every connection, still open
	Greeted  int             // greetings that began with the welcome prefix
	Refused  int             // greetings that began with the refusal prefix
	Refusals map[string]bool // the distinct refusal lines
}

// OpenCrowd opens n connections to addr at once and reads each one's
// first line: a greeting beginning with welcome counts as greeted, one
// beginning with refusal as refused; anything else fails the test. The
// connections stay open (with a 10 s deadline) and are closed when the
// test ends.
func OpenCrowd(t testing.TB, addr string, n int, welcome, refusal string) *Crowd {
	t.Helper()
	c := &Crowd{Refusals: map[string]bool{}}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 512)
			k, _ := io.ReadAtLeast(nc, buf, 4)
			g := string(buf[:k])
			mu.Lock()
			defer mu.Unlock()
			c.Conns = append(c.Conns, nc)
			switch {
			case strings.HasPrefix(g, welcome):
				c.Greeted++
			case strings.HasPrefix(g, refusal):
				c.Refused++
				c.Refusals[strings.TrimSpace(g)] = true
			default:
				t.Errorf("greeting %q", g)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nc := range c.Conns {
			nc.Close()
		}
	})
	return c
}

// StreamLine writes prefix, mb MiB of "A" and CRLF, from one reused
// 1 MiB buffer, so that only the server under test could hold the line.
// It stops at the first write error.
func StreamLine(w io.Writer, prefix string, mb int) {
	w.Write([]byte(prefix))
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for range mb {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
	w.Write([]byte("\r\n"))
}
