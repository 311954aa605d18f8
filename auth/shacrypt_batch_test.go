package auth

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth/internal/sha512x8"
)

// skipWithoutLanes skips tests of batching where there is none.
func skipWithoutLanes(t *testing.T) {
	if !sha512x8.Accelerated() {
		t.Skip("no AVX-512: SHA512-CRYPT is never batched on this CPU")
	}
}

// holdScheduler marks every CPU of ls busy, so that jobs queue up, and
// returns a function that waits for n pending jobs and frees the CPUs.
func holdScheduler(t *testing.T, ls *laneScheduler) func(n int) {
	ls.mu.Lock()
	ls.running = runtime.GOMAXPROCS(0)
	ls.mu.Unlock()
	return func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			ls.mu.Lock()
			if len(ls.pending) >= n {
				ls.running = 0
				ls.cond.Broadcast()
				ls.mu.Unlock()
				return
			}
			ls.mu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d jobs queued", len(ls.pending), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestLaneSchedulerBatches queues 20 hashes with the CPUs busy, frees
// them, and checks that the hashes ran as batches of 8, 8 and 4 (on
// AVX-512) and that every result equals the scalar one.
func TestLaneSchedulerBatches(t *testing.T) {
	skipWithoutLanes(t)
	ls := newLaneScheduler()
	release := holdScheduler(t, ls)
	const n = 20
	got := make([]string, n)
	var wg sync.WaitGroup
	sts := make([]*shaCryptSetting, n)
	for i := range n {
		sts[i] = &shaCryptSetting{id: '6', rounds: 1000 + i%2*7, customRounds: true, salt: fmt.Sprintf("salt%d", i)}
		wg.Go(func() { got[i] = ls.crypt(sts[i], []byte(fmt.Sprintf("pw-%d", i*i))) })
	}
	release(n)
	wg.Wait()
	for i := range n {
		if want := shaCrypt(sts[i], []byte(fmt.Sprintf("pw-%d", i*i))); got[i] != want {
			t.Errorf("job %d: %s, want %s", i, got[i], want)
		}
	}
	// Two round counts, 10 jobs each: batches of 8 and 2 per count...
	// but a pair alone is below laneMinBatch, so it runs one at a time.
	want := [sha512x8.Lanes + 1]int{1: 4, 8: 2}
	if ls.batches != want {
		t.Errorf("batch sizes %v, want %v", ls.batches, want)
	}
}

// TestLaneSchedulerAloneIsScalar checks that a single pending hash is
// computed at once on the scalar path.
func TestLaneSchedulerAloneIsScalar(t *testing.T) {
	ls := newLaneScheduler()
	st := &shaCryptSetting{id: '6', rounds: 1000, customRounds: true, salt: "abc"}
	if got, want := ls.crypt(st, []byte("pw")), shaCrypt(st, []byte("pw")); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if !sha512x8.Accelerated() {
		return
	}
	if want := ([sha512x8.Lanes + 1]int{1: 1}); ls.batches != want {
		t.Errorf("batch sizes %v, want %v", ls.batches, want)
	}
}

// TestVerifySHA512CryptConcurrent verifies the shared SHA512-CRYPT
// vectors from many goroutines at once, right and wrong passwords, so
// that they meet in lanes of the process-wide scheduler.
func TestVerifySHA512CryptConcurrent(t *testing.T) {
	var rows []vector
	for _, r := range loadVectors(t) {
		if r.scheme == "SHA512-CRYPT" {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		t.Fatal("no SHA512-CRYPT vectors")
	}
	var wg sync.WaitGroup
	for rep := range 2 {
		for _, r := range rows {
			wg.Go(func() {
				pw, want := r.password, true
				if rep%2 == 1 {
					pw, want = pw+"x", false
				}
				ok, err := Verify(r.stored, pw)
				if err != nil || ok != want {
					t.Errorf("Verify(%q, %q) = %v, %v; want %v", r.stored, pw, ok, err, want)
				}
			})
		}
	}
	wg.Wait()
}

// busyScheduler returns a scheduler that has just computed a batch of
// eight, with the given gathering window.
func busyScheduler(window time.Duration) *laneScheduler {
	ls := newLaneScheduler()
	ls.window, ls.busyGap = window, time.Hour
	ls.lastEnd, ls.lastSize = time.Now(), sha512x8.Lanes
	return ls
}

// TestLaneSchedulerGathersWhenBusy: on a busy server, hashes arriving one
// after the other within the window run as one batch, which starts as
// soon as it is full, long before the window ends.
func TestLaneSchedulerGathersWhenBusy(t *testing.T) {
	skipWithoutLanes(t)
	const window = 20 * time.Second
	ls := busyScheduler(window)
	st := &shaCryptSetting{id: '6', rounds: 1000, customRounds: true, salt: "gather"}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range sha512x8.Lanes {
		wg.Go(func() {
			pw := []byte(fmt.Sprint("pw", i))
			if got, want := ls.crypt(st, pw), shaCrypt(st, pw); got != want {
				t.Errorf("job %d: %s, want %s", i, got, want)
			}
		})
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if d := time.Since(start); d >= window {
		t.Errorf("took %v: the full batch waited for the window", d)
	}
	if want := ([sha512x8.Lanes + 1]int{sha512x8.Lanes: 1}); ls.batches != want {
		t.Errorf("batch sizes %v, want %v", ls.batches, want)
	}
}

// TestLaneSchedulerWindowEnds: a hash that finds no company within the
// window runs alone once the window is over.
func TestLaneSchedulerWindowEnds(t *testing.T) {
	skipWithoutLanes(t)
	const window = 30 * time.Millisecond
	ls := busyScheduler(window)
	st := &shaCryptSetting{id: '6', rounds: 1000, customRounds: true, salt: "alone"}
	start := time.Now()
	if got, want := ls.crypt(st, []byte("pw")), shaCrypt(st, []byte("pw")); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if d := time.Since(start); d < window {
		t.Errorf("returned after %v, before the %v window ended", d, window)
	}
	if want := ([sha512x8.Lanes + 1]int{1: 1}); ls.batches != want {
		t.Errorf("batch sizes %v, want %v", ls.batches, want)
	}
}
