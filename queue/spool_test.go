package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// spoolLog collects a spool's log for tests that check what was logged.
type spoolLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *spoolLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *spoolLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *spoolLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// openTestSpool opens a spool in dir and closes it at the end of the test.
func openTestSpool(t testing.TB, o spoolOptions) (*spool, []*qmsg) {
	t.Helper()
	s, msgs, err := openSpool(o)
	if err != nil {
		t.Fatalf("openSpool: %v", err)
	}
	t.Cleanup(func() { s.close() })
	return s, msgs
}

func spoolTestEnvelope(from string, rcpts ...string) *Envelope {
	env := &Envelope{
		From:   from,
		Ret:    "HDRS",
		EnvID:  "QQ314159",
		Body:   "8BITMIME",
		UTF8:   true,
		Auth:   "<>",
		Client: Client{Addr: "192.0.2.1", Name: "mail.example.jp", Helo: "mail.example.jp", Protocol: "ESMTPS"},
		Hops:   2,
	}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, Recipient{Addr: r, Orig: "orig-" + r, Notify: "SUCCESS,DELAY", ORcpt: "rfc822;" + r, Transport: "smtp", Nexthop: "[192.0.2.25]:25"})
	}
	return env
}

func spoolPut(t testing.TB, s *spool, env *Envelope, body string) *qmsg {
	t.Helper()
	m, err := s.put(context.Background(), env, strings.NewReader(body))
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	return m
}

func spoolContent(t testing.TB, s *spool, m *qmsg) string {
	t.Helper()
	r, err := s.open(m)
	if err != nil {
		t.Fatalf("open %s: %v", m.env.ID, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", m.env.ID, err)
	}
	return string(b)
}

// spoolDescribe is everything the spool keeps of m, for comparisons.
func spoolDescribe(m *qmsg) string {
	env := *m.env
	env.Arrival = time.Unix(0, env.Arrival.UnixNano())
	next := int64(0)
	if !m.next.IsZero() {
		next = m.next.UnixNano() / 1000
	}
	return fmt.Sprintf("%+v queue=%s size=%d done=%v reason=%q warned=%v next=%d", env, m.queue, m.size, m.done, m.reason, m.warned, next)
}

func spoolByID(msgs []*qmsg) map[string]*qmsg {
	out := map[string]*qmsg{}
	for _, m := range msgs {
		out[m.env.ID] = m
	}
	return out
}

// TestSpoolRoundTrip puts a message and takes it through every
// operation, reading the content back each time and after reopening.
func TestSpoolRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, msgs := openTestSpool(t, spoolOptions{Dir: dir})
	if len(msgs) != 0 {
		t.Fatalf("new spool has %d messages", len(msgs))
	}
	body := "Received: from x\r\nSubject: hi\r\n\r\nhello\r\n"
	env := spoolTestEnvelope("a@example.jp", "b@example.jp", "c@example.jp", "d@example.jp", "e@example.jp")
	m := spoolPut(t, s, env, body)
	if !validQueueID(env.ID) || env.Arrival.IsZero() {
		t.Fatalf("put set ID %q, Arrival %v", env.ID, env.Arrival)
	}
	if m.queue != queueIncoming || m.size != int64(len(body)) || m.seg == nil {
		t.Fatalf("after put: queue %s size %d seg %v", m.queue, m.size, m.seg)
	}
	if got := spoolContent(t, s, m); got != body {
		t.Fatalf("content %q, want %q", got, body)
	}
	if err := s.record(m, 0, Sent, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.record(m, 1, Deferred, "connect to mx: Connection refused"); err != nil {
		t.Fatal(err)
	}
	if err := s.record(m, 3, Bounced, "550 5.1.1 unknown"); err != nil {
		t.Fatal(err)
	}
	if err := s.record(m, 4, Sent, ""); err == nil {
		t.Error("record of recipient 4 of 4 succeeded")
	}
	if err := s.record(m, 0, Held, ""); err == nil {
		t.Error("record of status held succeeded")
	}
	next := time.Now().Add(17 * time.Minute).Truncate(time.Microsecond)
	if err := s.deferTo(m, next); err != nil {
		t.Fatal(err)
	}
	if m.queue != queueDeferred || m.seg != nil || !m.next.Equal(next) {
		t.Fatalf("after deferTo: queue %s seg %v next %v", m.queue, m.seg, m.next)
	}
	if fi, err := os.Stat(filepath.Join(dir, "deferred", env.ID)); err != nil || !fi.ModTime().Equal(next) {
		t.Fatalf("deferred file: %v, mtime %v, want %v", err, fi, next)
	}
	if got := spoolContent(t, s, m); got != body {
		t.Fatalf("content after deferTo %q", got)
	}
	// The segment it left had only this message and is not the current
	// one only after a roll; it is still there.
	if err := s.record(m, 2, Deferred, "4.4.1 timeout"); err != nil {
		t.Fatal(err)
	}
	if err := s.markWarned(m); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "deferred", env.ID)); !fi.ModTime().Equal(next) {
		t.Errorf("an appended record moved the mtime to %v, want %v", fi.ModTime(), next)
	}
	want := spoolDescribe(m)

	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s, msgs = openTestSpool(t, spoolOptions{Dir: dir})
	if len(msgs) != 1 || spoolDescribe(msgs[0]) != want {
		t.Fatalf("recovered %d messages:\n%v\nwant\n%s", len(msgs), msgs, want)
	}
	m = msgs[0]
	if !m.done[0] || m.done[1] || m.done[2] || !m.done[3] || m.reason[1] == "" || m.reason[2] != "4.4.1 timeout" || !m.warned {
		t.Fatalf("recovered state %s", spoolDescribe(m))
	}
	if got := spoolContent(t, s, m); got != body {
		t.Fatalf("content after recovery %q", got)
	}
	if err := s.move(m, queueHold); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hold", env.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.move(m, queueDeferred); err != nil {
		t.Fatal(err)
	}
	if m.queue != queueDeferred || time.Since(m.next) > time.Minute {
		t.Fatalf("released: queue %s next %v", m.queue, m.next)
	}
	if err := s.move(m, "active"); err == nil {
		t.Error("move to active succeeded")
	}
	if err := s.remove(m); err != nil {
		t.Fatal(err)
	}
	s.close()
	_, msgs = openTestSpool(t, spoolOptions{Dir: dir})
	if len(msgs) != 0 {
		t.Fatalf("removed message recovered: %s", spoolDescribe(msgs[0]))
	}
	for _, q := range []string{"deferred", "hold", "corrupt"} {
		if ents, _ := os.ReadDir(filepath.Join(dir, q)); len(ents) != 0 {
			t.Errorf("%s/ holds %d files", q, len(ents))
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "incoming")); len(ents) != 1 {
		t.Errorf("incoming/ holds %d files, want the current segment", len(ents))
	}
}

// TestSpoolRecoveryStates puts messages in every combination of where
// they are (segment, large incoming file, deferred, hold, released),
// which recipients are done or deferred, warned and removed, closes the
// spool (or abandons it, as a killed process would) and checks that
// recovery returns exactly the live ones in exactly their state.
func TestSpoolRecoveryStates(t *testing.T) {
	for _, abandon := range []bool{false, true} {
		t.Run(fmt.Sprintf("abandon=%v", abandon), func(t *testing.T) {
			dir := t.TempDir()
			s, _, err := openSpool(spoolOptions{Dir: dir, LargeBytes: 200, SegmentBytes: 2000, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			bodies := map[string]string{}
			places := []string{"segment", "large", "deferred", "hold", "released", "large-deferred", "held-at-put"}
			n := 0
			for _, place := range places {
				for mask := 0; mask < 1<<3; mask++ { // done for recipients 0..2
					for _, extra := range []int{0, 1, 2, 3} { // bit 0: warned, bit 1: removed
						n++
						body := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", n, strings.Repeat("x", n%7))
						if strings.HasPrefix(place, "large") {
							body += strings.Repeat("L", 300)
						}
						env := spoolTestEnvelope(fmt.Sprintf("s%d@example.jp", n), "r0@example.jp", "r1@example.jp", "r2@example.jp")
						env.Hold = place == "held-at-put"
						m := spoolPut(t, s, env, body)
						if place == "hold" || place == "released" {
							if err := s.move(m, queueHold); err != nil {
								t.Fatal(err)
							}
						}
						for i := 0; i < 3; i++ {
							if mask&(1<<i) != 0 {
								st := Sent
								if i == 2 {
									st = Bounced
								}
								if err := s.record(m, i, st, ""); err != nil {
									t.Fatal(err)
								}
							} else if i != 1 {
								if err := s.record(m, i, Deferred, fmt.Sprintf("reason %d/%d", n, i)); err != nil {
									t.Fatal(err)
								}
							}
						}
						if extra&1 != 0 {
							if err := s.markWarned(m); err != nil {
								t.Fatal(err)
							}
						}
						switch place {
						case "deferred", "large-deferred":
							if err := s.deferTo(m, time.Now().Add(time.Duration(n)*time.Minute)); err != nil {
								t.Fatal(err)
							}
						case "released":
							if err := s.move(m, queueDeferred); err != nil {
								t.Fatal(err)
							}
						}
						if extra&2 != 0 {
							if err := s.remove(m); err != nil {
								t.Fatal(err)
							}
							continue
						}
						want[m.env.ID] = spoolDescribe(m)
						bodies[m.env.ID] = body
					}
				}
			}
			if abandon {
				s.closeFiles() // as if the process died: no close
			} else if err := s.close(); err != nil {
				t.Fatal(err)
			}
			s2, msgs := openTestSpool(t, spoolOptions{Dir: dir, LargeBytes: 200, SegmentBytes: 2000})
			got := spoolByID(msgs)
			if len(got) != len(want) {
				t.Errorf("recovered %d messages, want %d", len(got), len(want))
			}
			for id, w := range want {
				m := got[id]
				if m == nil {
					t.Errorf("%s lost: %s", id, w)
					continue
				}
				if d := spoolDescribe(m); d != w {
					t.Errorf("%s recovered as\n%s\nwant\n%s", id, d, w)
				}
				if c := spoolContent(t, s2, m); c != bodies[id] {
					t.Errorf("%s content %q, want %q", id, c, bodies[id])
				}
			}
			for id := range got {
				if _, ok := want[id]; !ok {
					t.Errorf("removed message %s recovered", id)
				}
			}
			if !slices.IsSortedFunc(msgs, func(a, b *qmsg) int { return a.env.Arrival.Compare(b.env.Arrival) }) {
				t.Error("recovered messages are not in arrival order")
			}
			// Segments whose messages all left are gone.
			segs, _ := filepath.Glob(filepath.Join(dir, "incoming", "seg-*"))
			live := map[*spoolSegment]bool{}
			for _, m := range msgs {
				if m.seg != nil {
					live[m.seg] = true
				}
			}
			if len(segs) != len(live)+1 {
				t.Errorf("%d segment files for %d segments with live messages (+1 current)", len(segs), len(live))
			}
		})
	}
}

// TestSpoolIDs checks generated IDs (unique, sortable, file-safe) and
// caller IDs (kept when valid and unused, refused otherwise).
func TestSpoolIDs(t *testing.T) {
	s, _ := openTestSpool(t, spoolOptions{Dir: t.TempDir(), NoSync: true})
	var ids []string
	for i := 0; i < 200; i++ {
		ids = append(ids, spoolPut(t, s, spoolTestEnvelope("", "r@example.jp"), "x\r\n").env.ID)
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("generated IDs not unique and sorted: %v", ids)
	}
	env := spoolTestEnvelope("", "r@example.jp")
	env.ID = "4XyzSMTP01"
	spoolPut(t, s, env, "x\r\n")
	for _, id := range []string{"4XyzSMTP01", ids[3], "../etc", "a b", strings.Repeat("A", 65)} {
		env := spoolTestEnvelope("", "r@example.jp")
		env.ID = id
		if _, err := s.put(context.Background(), env, strings.NewReader("x\r\n")); err == nil {
			t.Errorf("put with ID %q succeeded", id)
		}
	}
}

// TestSpoolConcurrentReaders reads one message from many goroutines at
// once while other messages are put and removed, and removes it while a
// reader is still open: the reader still reads it whole.
func TestSpoolConcurrentReaders(t *testing.T) {
	s, _ := openTestSpool(t, spoolOptions{Dir: t.TempDir(), SegmentBytes: 4096, NoSync: true})
	body := strings.Repeat("line of text\r\n", 100)
	m := spoolPut(t, s, spoolTestEnvelope("", "r@example.jp"), body)
	held, err := s.open(m)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if c := spoolContent(t, s, m); c != body {
					t.Errorf("concurrent read: %d bytes", len(c))
					return
				}
				o := spoolPut(t, s, spoolTestEnvelope("", "r@example.jp"), body)
				if err := s.remove(o); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := s.remove(m); err != nil {
		t.Fatal(err)
	}
	// Fill segments so that m's is no longer current.
	for i := 0; i < 10; i++ {
		s.remove(spoolPut(t, s, spoolTestEnvelope("", "r@example.jp"), body))
	}
	b, err := io.ReadAll(held)
	if err != nil || string(b) != body {
		t.Fatalf("reader opened before remove: %d bytes, %v", len(b), err)
	}
	held.Close()
	s.wmu.Lock()
	nsegs := len(s.segs)
	s.wmu.Unlock()
	if nsegs != 1 {
		t.Errorf("%d segments open after every message was removed, want 1", nsegs)
	}
}

// TestSpoolPutContextCanceled cancels a put while it waits for a
// commit (another put's, blocked): put fails and the message is not
// recovered; the other put succeeds and is. A put with a context
// canceled before it starts fails too.
func TestSpoolPutContextCanceled(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestSpool(t, spoolOptions{Dir: dir})
	release := make(chan struct{})
	var once sync.Once
	s.syncHook = func() error { once.Do(func() { <-release }); return nil }
	leader := make(chan *qmsg, 1)
	go func() {
		m, err := s.put(context.Background(), spoolTestEnvelope("", "kept@example.jp"), strings.NewReader("y\r\n"))
		if err != nil {
			t.Error(err)
		}
		leader <- m
	}()
	time.Sleep(50 * time.Millisecond) // the leader is in its commit
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.put(ctx, spoolTestEnvelope("", "canceled@example.jp"), strings.NewReader("x\r\n"))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("canceled put succeeded")
	}
	close(release)
	kept := <-leader
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := s.put(ctx, spoolTestEnvelope("", "r@example.jp"), strings.NewReader("z\r\n")); err == nil {
		t.Error("put with a canceled context succeeded")
	}
	s.close()
	_, msgs := openTestSpool(t, spoolOptions{Dir: dir})
	if len(msgs) != 1 || kept == nil || msgs[0].env.ID != kept.env.ID {
		for _, m := range msgs {
			t.Logf("recovered %s", spoolDescribe(m))
		}
		t.Fatalf("recovered %d messages, want only the leader's", len(msgs))
	}
}

// TestSpoolGroupCommit blocks the first commit, starts 50 puts, checks
// that none returns before the fdatasync that covers it has run, and that
// they shared far fewer fdatasyncs than 50.
func TestSpoolGroupCommit(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestSpool(t, spoolOptions{Dir: dir})
	var (
		mu      sync.Mutex
		commits int // commits that finished their hook
		blocked = make(chan struct{})
		first   = true
	)
	s.syncHook = func() error {
		mu.Lock()
		f := first
		first = false
		mu.Unlock()
		if f {
			<-blocked
		}
		mu.Lock()
		commits++
		mu.Unlock()
		return nil
	}
	before := s.fsyncs.Load()
	const n = 50
	type res struct {
		commitsSeen int
		err         error
	}
	out := make(chan res, n)
	var returned sync.WaitGroup
	for i := 0; i < n; i++ {
		returned.Add(1)
		go func() {
			defer returned.Done()
			_, err := s.put(context.Background(), spoolTestEnvelope("", "r@example.jp"), strings.NewReader(strings.Repeat("x", 4096)))
			mu.Lock()
			c := commits
			mu.Unlock()
			out <- res{c, err}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if len(out) != 0 {
		t.Fatalf("%d puts returned while the first commit was blocked", len(out))
	}
	close(blocked)
	returned.Wait()
	close(out)
	for r := range out {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.commitsSeen == 0 {
			t.Error("a put returned before any commit finished")
		}
	}
	syncs := s.fsyncs.Load() - before
	t.Logf("%d concurrent puts: %d fdatasyncs in %d commits", n, syncs, commits)
	if syncs > n/5 {
		t.Errorf("%d fdatasyncs for %d concurrent puts; group commit should need a few", syncs, n)
	}
	s.syncHook = nil
	s.close()
	_, msgs := openTestSpool(t, spoolOptions{Dir: dir})
	if len(msgs) != n {
		t.Errorf("recovered %d of %d", len(msgs), n)
	}
}

// TestSpoolSyncFailure makes one group commit fail (as an fdatasync
// error would): every put it covered fails, the segment is retired (the
// next put goes to a new one), later puts succeed, and after a reopen the
// failed puts are not delivered while the others are.
func TestSpoolSyncFailure(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestSpool(t, spoolOptions{Dir: dir})
	before := spoolPut(t, s, spoolTestEnvelope("", "before@example.jp"), "a\r\n")
	release := make(chan struct{})
	var calls atomic.Int32
	s.syncHook = func() error {
		if calls.Add(1) == 1 {
			<-release
			return syscall.EIO
		}
		return nil
	}
	const n = 10
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := s.put(context.Background(), spoolTestEnvelope("", "during@example.jp"), strings.NewReader("b\r\n"))
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	var failed int
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no put failed with its commit")
	}
	after := spoolPut(t, s, spoolTestEnvelope("", "after@example.jp"), "c\r\n")
	if after.seg == before.seg {
		t.Error("a put went into the segment whose fdatasync failed")
	}
	s.syncHook = nil
	s.close()
	_, msgs := openTestSpool(t, spoolOptions{Dir: dir})
	var during int
	for _, m := range msgs {
		if m.env.Recipients[0].Addr == "during@example.jp" {
			during++
		}
	}
	if len(msgs)-during != 2 || during != n-failed {
		t.Errorf("recovered %d messages, %d of the puts during the failure; want before, after and the %d that succeeded", len(msgs), during, n-failed)
	}
	t.Logf("%d of %d puts covered by the failed commit failed", failed, n)
}

// TestSpoolLock: a second spool on the same directory is refused while
// the first is open, and allowed once it is closed.
func TestSpoolLock(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestSpool(t, spoolOptions{Dir: dir, NoSync: true})
	if s2, _, err := openSpool(spoolOptions{Dir: dir, NoSync: true}); err == nil {
		s2.close()
		t.Fatal("a second spool opened a directory in use")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
	s.close()
	s2, _, err := openSpool(spoolOptions{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	s2.close()
}

// TestSpoolDeferSharesDirSyncs defers 40 segment messages at once: each
// needs its file fsynced and its directory fsynced after the rename; the
// directory fsyncs are shared, so far fewer than 80 fsyncs run. Every
// message is then found in deferred/ after a reopen.
func TestSpoolDeferSharesDirSyncs(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestSpool(t, spoolOptions{Dir: dir})
	const n = 40
	var msgs []*qmsg
	for i := 0; i < n; i++ {
		msgs = append(msgs, spoolPut(t, s, spoolTestEnvelope("", "r@example.jp"), "x\r\n"))
	}
	before := s.fsyncs.Load()
	// The first directory fsync takes a while, as on a busy disk, so
	// that the others find it running whatever the machine's load.
	var first sync.Once
	s.dirSyncHook = func() { first.Do(func() { time.Sleep(100 * time.Millisecond) }) }
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := s.deferTo(m, time.Now().Add(time.Hour)); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	s.dirSyncHook = nil
	syncs := s.fsyncs.Load() - before
	t.Logf("%d concurrent deferTo: %d fsyncs (%d files + %d directory)", n, syncs, n, syncs-n)
	if syncs >= n+n*3/4 {
		t.Errorf("%d fsyncs for %d concurrent deferTo; the directory fsyncs should be shared", syncs, n)
	}
	s.close()
	_, got := openTestSpool(t, spoolOptions{Dir: dir})
	if len(got) != n {
		t.Fatalf("recovered %d of %d", len(got), n)
	}
	for _, m := range got {
		if m.queue != queueDeferred {
			t.Errorf("%s recovered in %s", m.env.ID, m.queue)
		}
	}
}
