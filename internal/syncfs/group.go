package syncfs

import (
	"sync"
	"time"
)

// Group runs a function (an fsync, a syncfs) once for every caller that
// joined the batch before it started: a group commit. Callers that
// arrive while a batch runs join the next one, whose function starts
// only after all its members made their change. The zero value runs
// batches at once; it must not be copied after first use.
type Group struct {
	// Linger is how long a batch waits for more members before its
	// function starts (0: at once).
	Linger time.Duration

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
func (q *Group) active() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.busy || q.next != nil
}

// Do runs fn once for this caller's batch and returns its result.
func (q *Group) Do(fn func() error) error {
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
			if linger := q.Linger; linger > 0 {
				q.mu.Unlock() // callers meanwhile join b
				time.Sleep(linger)
				q.mu.Lock()
			}
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
