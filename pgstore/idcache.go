package pgstore

import (
	"sync"
	"time"
)

// idCache remembers users' row ids for a while, so that opening a
// user's store (once per LMTP delivery) costs no query. pgstore never
// deletes a user's row; should an administrator delete and recreate
// one, a server finds the new id within idCacheTTL (until then its
// deliveries to that user fail with a temporary error).
type idCache struct {
	mu sync.Mutex
	m  map[string]idEntry
}

type idEntry struct {
	id   int64
	seen time.Time
}

const (
	idCacheTTL = time.Minute
	idCacheMax = 100000 // entries; the cache is emptied when full
)

func (c *idCache) get(name string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	if !ok || time.Since(e.seen) > idCacheTTL {
		return 0, false
	}
	return e.id, true
}

func (c *idCache) put(name string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= idCacheMax {
		c.m = map[string]idEntry{}
	}
	c.m[name] = idEntry{id: id, seen: time.Now()}
}
