package maildir

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/yubinmail/yubin/store"
)

// idlers opens n handles on INBOX of s, each with a goroutine that waits
// on Notify, polls, and reports every ChangeNew it sees on got (uid).
type idlers struct {
	hs   []store.Mailbox
	stop chan struct{}
	wg   sync.WaitGroup
}

func startIdlers(tb testing.TB, s *Store, n int, got func(i int, ch store.Change)) *idlers {
	tb.Helper()
	c := context.Background()
	d := &idlers{stop: make(chan struct{})}
	for i := 0; i < n; i++ {
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: i%2 == 1})
		if err != nil {
			tb.Fatal(err)
		}
		d.hs = append(d.hs, mb)
	}
	for i, mb := range d.hs {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for {
				select {
				case <-mb.Notify():
				case <-d.stop:
					return
				}
				chs, err := mb.Poll(c)
				if err != nil {
					tb.Error(err)
					return
				}
				for _, ch := range chs {
					got(i, ch)
				}
			}
		}()
	}
	return d
}

func (d *idlers) close() {
	close(d.stop)
	d.wg.Wait()
	for _, mb := range d.hs {
		mb.Close()
	}
}

// TestFanOutManyHandles: every one of many IDLE-like handles on one
// mailbox hears every delivery, in order, exactly once, while other
// handles come and go; and the shared change log does not keep events
// every handle has read.
func TestFanOutManyHandles(t *testing.T) {
	n, msgs := 1000, 5
	if testing.Short() {
		n = 200
	}
	s := newTestStore(t, filepath.Join(t.TempDir(), "Maildir"), Options{NoSync: true})
	c := context.Background()
	var mu sync.Mutex
	seen := make([][]uint32, n)
	var pending sync.WaitGroup
	d := startIdlers(t, s, n, func(i int, ch store.Change) {
		if ch.Kind != store.ChangeNew {
			t.Errorf("handle %d: change %+v", i, ch)
			return
		}
		mu.Lock()
		seen[i] = append(seen[i], ch.UID)
		mu.Unlock()
		pending.Done()
	})
	defer d.close()
	var want []uint32
	var first weak.Pointer[logNode]
	for k := 0; k < msgs; k++ {
		// Handles opened and closed meanwhile must not disturb the others.
		extra, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pending.Add(n)
		res, err := s.Deliver(c, store.Inbox, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", k)), store.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			m, err := s.box(store.Inbox)
			if err != nil {
				t.Fatal(err)
			}
			m.mu.Lock()
			first = weak.Make(m.tail)
			m.mu.Unlock()
		}
		extra.Close()
		want = append(want, res.UID)
		done := make(chan struct{})
		go func() { pending.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("message %d did not reach every handle", k)
		}
	}
	for i := range seen {
		if fmt.Sprint(seen[i]) != fmt.Sprint(want) {
			t.Fatalf("handle %d saw %v, want %v", i, seen[i], want)
		}
	}
	// The first delivery's log entry has been read by every handle: the
	// log must not keep it.
	for i := 0; first.Value() != nil; i++ {
		if i == 10 {
			t.Fatal("change log keeps an entry every handle has read")
		}
		runtime.GC()
	}
}

// BenchmarkFanOut10k: 10,000 handles (IMAP IDLE sessions) wait on one
// mailbox; one op is a delivery (with fsync) until every handle has
// polled the new message. all-ms is the delivery-to-all-notified time.
func BenchmarkFanOut10k(b *testing.B) {
	const n = 10000
	s, err := Open(filepath.Join(b.TempDir(), "Maildir"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := context.Background()
	var pending sync.WaitGroup
	d := startIdlers(b, s, n, func(i int, ch store.Change) {
		if ch.Kind == store.ChangeNew {
			pending.Done()
		}
	})
	defer d.close()
	deliver := func() time.Duration {
		pending.Add(n)
		start := time.Now()
		if _, err := s.Deliver(c, store.Inbox, strings.NewReader("Subject: fan-out\r\n\r\nbody\r\n"), store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		pending.Wait()
		return d
	}
	deliver() // the sessions' goroutines grow their stacks once
	b.ResetTimer()
	cpu0 := cpuTime()
	var total, worst, dtotal time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		dtotal += deliver()
		el := time.Since(start)
		total += el
		worst = max(worst, el)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(dtotal.Microseconds())/1000/float64(b.N), "deliver-ms")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "all-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
