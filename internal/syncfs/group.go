package syncfs

import (
	"sync"
	"time"
)

// group runs a function once for every caller that joined the batch
// before it started (a group commit).
type group struct {
	mu   sync.Mutex
	cond sync.Cond
	busy bool   // a batch is running
	next *batch // the batch callers join now
}

type batch struct {
	done bool
	err  error
}

// active reports whether a batch is running or gathering callers.
func (q *group) active() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.busy || q.next != nil
}

// run runs fn once for this caller's batch, after Linger, and returns
// its result.
func (q *group) run(fn func() error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cond.L == nil {
		q.cond.L = &q.mu
	}
	if q.next == nil {
		q.next = &batch{}
	}
	b := q.next
	for !b.done {
		if !q.busy && q.next == b {
			q.busy = true
			q.mu.Unlock() // callers meanwhile join b
			time.Sleep(Linger)
			q.mu.Lock()
			q.next = nil
			q.mu.Unlock()
			err := fn()
			q.mu.Lock()
			b.err, b.done, q.busy = err, true, false
			q.cond.Broadcast()
			break
		}
		q.cond.Wait()
	}
	return b.err
}
