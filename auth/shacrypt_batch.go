package auth

import (
	"crypto/sha512"
	"runtime"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth/internal/sha512x8"
)

// SHA512-CRYPT verifications that run at the same time are computed
// together in the lanes of sha512x8 when the CPU has vector units for
// it: eight hashes in lanes cost about as much CPU as three one after
// the other. There is no waiting window: a hash that arrives when no
// other is being computed starts at once, alone on the scalar path (as
// fast as ever). Hashes that arrive while one batch runs queue up and
// become the next batch, up to eight at a time; another CPU starts a
// batch at once only when eight are waiting. A second hash arriving
// during a first one therefore waits for it rather than taking the
// other CPU: a little latency, traded for the batch that forms meanwhile
// (on a server short of CPU, the one that pays: BenchmarkMariaDBLoginsVsDovecot
// in auth/sqldb measures 0.64 ms CPU per cold login instead of 1.17).
const (
	// laneMinBatch is the smallest batch computed in lanes; fewer
	// pending hashes are computed one at a time. Measured on AVX-512:
	// 2 lanes cost 1.2× the CPU of 2 scalar hashes, 3 lanes 0.8×.
	laneMinBatch = 3
	// laneMaxPassword bounds the passwords that go into lanes: longer
	// ones make every lane of their batch hash as many blocks.
	laneMaxPassword = 128
)

// sha512CryptJob is one pending SHA512-CRYPT computation (the rounds).
type sha512CryptJob struct {
	rounds  int
	c, p, s []byte
	arrived time.Time
	done    bool
}

// laneScheduler gathers the pending jobs. It is process-wide, like the
// CPUs it schedules: it holds no settings, only the queue.
type laneScheduler struct {
	mu      sync.Mutex
	cond    sync.Cond
	pending []*sha512CryptJob
	running int // batches being computed
	// lastEnd and lastSize describe the batch that ended last.
	lastEnd  time.Time
	lastSize int
	// timerArmed is set while a timer will wake the waiters at the
	// end of a gathering window.
	timerArmed bool
	// window and busyGap are laneGatherWindow and laneBusyGap, set
	// otherwise by tests.
	window, busyGap time.Duration
	// batches counts computed batches by size (index 0 unused), for
	// tests and benchmarks.
	batches [sha512x8.Lanes + 1]int
}

const (
	// laneGatherWindow is how long a hash arriving when no batch runs
	// waits for company, at most, when the server is busy.
	laneGatherWindow = time.Millisecond
	// laneBusyGap defines busy: a batch of two or more hashes ended
	// less than this long ago. A login on a server that is not busy
	// never waits.
	laneBusyGap = 20 * time.Millisecond
)

var sha512CryptLanes = newLaneScheduler()

func newLaneScheduler() *laneScheduler {
	s := &laneScheduler{window: laneGatherWindow, busyGap: laneBusyGap}
	s.cond.L = &s.mu
	return s
}

// sha512Crypt is shaCrypt for "$6$" settings, computed in lanes with
// other concurrent calls when that pays.
func sha512Crypt(st *shaCryptSetting, password []byte) string {
	return sha512CryptLanes.crypt(st, password)
}

// crypt is sha512Crypt on ls.
func (ls *laneScheduler) crypt(st *shaCryptSetting, password []byte) string {
	if !sha512x8.Accelerated() || len(password) > laneMaxPassword {
		return shaCrypt(st, password)
	}
	a, p, s := shaCryptPrepare(sha512.New(), []byte(st.salt), password)
	j := &sha512CryptJob{rounds: st.rounds, c: a, p: p, s: s, arrived: time.Now()}
	ls.run(j)
	clear(p)
	return shaCryptEncode(st, j.c)
}

// run queues j and returns once it has been computed, by this goroutine
// or another: a caller that may start a batch computes the oldest
// pending jobs, whether or not its own is among them, then looks again.
func (ls *laneScheduler) run(j *sha512CryptJob) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pending = append(ls.pending, j)
	for !j.done {
		if !ls.mayStart() {
			ls.cond.Wait()
			continue
		}
		batch := ls.take()
		ls.running++
		ls.batches[len(batch)]++
		ls.mu.Unlock()
		computeBatch(batch)
		ls.mu.Lock()
		for _, b := range batch {
			b.done = true
		}
		ls.running--
		ls.lastEnd, ls.lastSize = time.Now(), len(batch)
		ls.cond.Broadcast()
	}
}

// mayStart reports whether a caller may start a batch now: when none is
// running, or on another CPU when a full batch is waiting. Otherwise
// the pending jobs gather into the next batch. On a busy server a job
// that finds no batch running still waits up to the gathering window
// for others to join it, so that the hashes that come in one after the
// other from many clients do not each run alone.
func (ls *laneScheduler) mayStart() bool {
	if len(ls.pending) == 0 {
		return false
	}
	same := ls.sameAsHead()
	if ls.running > 0 {
		return ls.running < runtime.GOMAXPROCS(0) && same >= sha512x8.Lanes
	}
	if same >= sha512x8.Lanes || ls.lastSize < 2 {
		return true
	}
	now := time.Now()
	deadline := ls.pending[0].arrived.Add(ls.window)
	if now.Sub(ls.lastEnd) >= ls.busyGap || !now.Before(deadline) {
		return true
	}
	if !ls.timerArmed {
		ls.timerArmed = true
		time.AfterFunc(deadline.Sub(now), func() {
			ls.mu.Lock()
			ls.timerArmed = false
			ls.cond.Broadcast()
			ls.mu.Unlock()
		})
	}
	return false
}

// take removes and returns the next batch: the oldest pending job and,
// when at least laneMinBatch are pending, up to Lanes-1 more with the
// same number of rounds.
func (ls *laneScheduler) take() []*sha512CryptJob {
	head := ls.pending[0]
	same := ls.sameAsHead()
	batch := []*sha512CryptJob{head}
	rest := ls.pending[:0]
	for _, j := range ls.pending[1:] {
		if same >= laneMinBatch && len(batch) < sha512x8.Lanes && j.rounds == head.rounds {
			batch = append(batch, j)
		} else {
			rest = append(rest, j)
		}
	}
	clear(ls.pending[len(rest):])
	ls.pending = rest
	return batch
}

// sameAsHead counts the pending jobs with as many rounds as the oldest.
func (ls *laneScheduler) sameAsHead() int {
	n := 0
	for _, j := range ls.pending {
		if j.rounds == ls.pending[0].rounds {
			n++
		}
	}
	return n
}

// computeBatch runs the rounds of every job in batch.
func computeBatch(batch []*sha512CryptJob) {
	if len(batch) == 1 {
		j := batch[0]
		j.c = shaCryptRounds(sha512.New(), j.rounds, j.c, j.p, j.s)
		return
	}
	cs := make([][]byte, len(batch))
	ps := make([][]byte, len(batch))
	ss := make([][]byte, len(batch))
	for i, j := range batch {
		cs[i], ps[i], ss[i] = j.c, j.p, j.s
	}
	sha512CryptRoundsLanes(batch[0].rounds, cs, ps, ss)
}
