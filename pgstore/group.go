package pgstore

import "sync"

// group runs work submitted by concurrent callers in batches: the
// first caller to find no batch running becomes the leader and runs,
// one batch after another, everything queued meanwhile, until the
// queue is empty; the others wait for their item's result. So N
// concurrent deliveries cost about one transaction (and one WAL flush)
// per batch instead of one each, and a lone caller waits for nothing.
type group[T any] struct {
	mu      sync.Mutex
	running bool
	pending []*T
	max     int // largest batch; 0: no limit
}

// do queues item and returns once a batch holding it has run; run
// takes the batch and must complete every item in it before it returns.
func (g *group[T]) do(item *T, done <-chan struct{}, run func([]*T)) {
	g.mu.Lock()
	g.pending = append(g.pending, item)
	if g.running {
		g.mu.Unlock()
		<-done
		return
	}
	g.running = true
	for len(g.pending) > 0 {
		batch := g.pending
		if g.max > 0 && len(batch) > g.max {
			batch = batch[:g.max:g.max]
		}
		g.pending = g.pending[len(batch):]
		g.mu.Unlock()
		run(batch)
		g.mu.Lock()
	}
	g.pending = nil
	g.running = false
	g.mu.Unlock()
	<-done
}
