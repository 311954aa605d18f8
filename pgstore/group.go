package pgstore

import "sync"

// group runs work submitted by concurrent callers in batches: a caller
// that finds fewer than parallel batches running becomes a leader and
// runs, one batch after another, everything queued meanwhile, until the
// queue is empty; the others wait for their item's result. So N
// concurrent deliveries cost about one transaction (and one WAL flush)
// per batch instead of one each, a lone caller waits for nothing, and
// while one batch waits for the database another can be on its way.
type group[T any] struct {
	mu       sync.Mutex
	running  int
	pending  []*T
	max      int // largest batch; 0: no limit
	parallel int // batches at once; 0 means 1
}

// do queues item and returns once a batch holding it has run; run
// takes the batch and must complete every item in it before it returns.
func (g *group[T]) do(item *T, done <-chan struct{}, run func([]*T)) {
	g.mu.Lock()
	g.pending = append(g.pending, item)
	if g.running >= max(g.parallel, 1) {
		g.mu.Unlock()
		<-done
		return
	}
	g.running++
	for len(g.pending) > 0 {
		batch := g.pending
		if g.max > 0 && len(batch) > g.max {
			batch = batch[:g.max:g.max]
		}
		g.pending = g.pending[len(batch):]
		if len(g.pending) == 0 {
			g.pending = nil
		}
		g.mu.Unlock()
		run(batch)
		g.mu.Lock()
	}
	g.running--
	g.mu.Unlock()
	<-done
}
