package msgauth

import (
	"crypto"
	"sync"
	"time"
)

// KeyCache keeps parsed DKIM public keys (used by DKIM and ARC
// verification) for TTL, so that a busy receiver neither asks DNS nor
// parses the same key for every message. Lookups that failed for
// good (no key, a malformed record) are kept too; temporary failures are
// not. Set it on a [Verifier]; it is safe for concurrent use.
type KeyCache struct {
	// TTL is how long a key is kept (1 minute). A rotated key is seen
	// after at most TTL (plus the resolver's own caching).
	TTL time.Duration
	// Max bounds the entries (10000); a full cache starts over.
	Max int

	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	key     crypto.PublicKey
	err     error
	expires time.Time
}

func (c *KeyCache) get(name string) (crypto.PublicKey, error, bool) {
	if c == nil {
		return nil, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	if !ok || time.Now().After(e.expires) {
		return nil, nil, false
	}
	return e.key, e.err, true
}

func (c *KeyCache) put(name string, key crypto.PublicKey, err error) {
	if c == nil {
		return
	}
	ttl, max := c.TTL, c.Max
	if ttl <= 0 {
		ttl = time.Minute
	}
	if max <= 0 {
		max = 10000
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= max {
		c.m = map[string]cachedKey{}
	}
	c.m[name] = cachedKey{key: key, err: err, expires: time.Now().Add(ttl)}
}
