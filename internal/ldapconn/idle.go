package ldapconn

import "sync"

// Idle is a pool's idle connections, the last put taken first; the
// zero value is empty and ready. It is safe for concurrent use.
type Idle[C Conn] struct {
	mu    sync.Mutex
	conns []C
}

// Put adds c.
func (i *Idle[C]) Put(c C) {
	i.mu.Lock()
	i.conns = append(i.conns, c)
	i.mu.Unlock()
}

// Take removes and returns the connection put last, if any.
func (i *Idle[C]) Take() (C, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	var zero C
	n := len(i.conns)
	if n == 0 {
		return zero, false
	}
	c := i.conns[n-1]
	i.conns[n-1] = zero
	i.conns = i.conns[:n-1]
	return c, true
}

// Close closes and forgets every connection.
func (i *Idle[C]) Close() {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, c := range i.conns {
		c.Close()
	}
	i.conns = nil
}
