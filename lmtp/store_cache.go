package lmtp

import (
	"context"
	"sync"
	"time"

	"github.com/yubinmail/yubin/store"
)

// storeCache keeps users' stores open between deliveries for a while, so
// a burst of mail for the same users does not reopen (rescan) their
// stores for every message.
type storeCache struct {
	mu      sync.Mutex
	entries map[string]*cachedStore
	swept   time.Time // last sweep for expired entries
}

type cachedStore struct {
	st   store.Store
	refs int
	last time.Time
}

// open returns the user's store and a release function.
func (c *storeCache) open(ctx context.Context, be store.Backend, name string, keep time.Duration) (store.Store, func(), error) {
	if keep <= 0 {
		st, err := be.Open(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*cachedStore{}
	}
	now := time.Now()
	// Expired stores are closed by a sweep at most every keep/2, not on
	// every delivery (a busy MX has many users' stores open).
	if now.Sub(c.swept) > keep/2 {
		c.swept = now
		for k, e := range c.entries {
			if e.refs == 0 && now.Sub(e.last) > keep {
				e.st.Close()
				delete(c.entries, k)
			}
		}
	}
	e := c.entries[name]
	if e == nil {
		c.mu.Unlock()
		st, err := be.Open(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		c.mu.Lock()
		if e = c.entries[name]; e == nil {
			e = &cachedStore{st: st}
			c.entries[name] = e
		} else {
			st.Close()
		}
	}
	e.refs++
	c.mu.Unlock()
	return e.st, func() {
		c.mu.Lock()
		e.refs--
		e.last = time.Now()
		c.mu.Unlock()
	}, nil
}

// Close closes every cached store.
func (c *storeCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		e.st.Close()
		delete(c.entries, k)
	}
}
