package auth

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash"
	"sync"
	"time"
)

// Default values of Cache fields (Dovecot's auth_cache_ttl,
// auth_cache_negative_ttl; the size bound counts entries).
const (
	DefaultCacheTTL         = time.Hour
	DefaultCacheNegativeTTL = time.Hour
	DefaultCacheSize        = 10000
)

// Cache is an authentication cache in front of a PassDB (Dovecot's
// auth_cache). A successful login is remembered with a keyed hash of
// the password, so a later login with the same password is answered from
// memory for TTL; a different password or client address goes to the
// PassDB again (the password may have changed; allow_nets may differ). Unknown users are remembered for
// NegativeTTL. The cache holds at most Size entries, evicting the least
// recently used. Credential lookups pass through uncached.
type Cache struct {
	PassDB      PassDB
	TTL         time.Duration // zero means DefaultCacheTTL
	NegativeTTL time.Duration // zero means DefaultCacheNegativeTTL, negative disables
	Size        int           // zero means DefaultCacheSize

	once    sync.Once
	key     []byte
	macs    sync.Pool // of *macState, keyed with key
	mu      sync.Mutex
	lru     *list.List
	entries map[string]*list.Element
	now     func() time.Time
}

type cacheEntry struct {
	user    string
	pwMAC   []byte // nil for a negative entry (sha256.Size bytes)
	id      *Identity
	expires time.Time
}

func (c *Cache) init() {
	c.once.Do(func() {
		c.key = make([]byte, 32)
		rand.Read(c.key)
		c.lru = list.New()
		c.entries = map[string]*list.Element{}
		if c.now == nil {
			c.now = time.Now
		}
	})
}

// mac binds a cached success to the user, the client's address (so that
// address-dependent rules such as allow_nets are re-checked by the
// PassDB for a new address) and the password. It writes into out's
// array and returns it.
func (c *Cache) mac(ctx context.Context, user, password string, out *[sha256.Size]byte) []byte {
	m, _ := c.macs.Get().(*macState)
	if m == nil {
		m = &macState{h: hmac.New(sha256.New, c.key)}
	}
	b := append(m.buf[:0], user...)
	b = append(b, 0)
	if ci := ConnInfoFrom(ctx); ci != nil {
		b = addrIP(ci.RemoteAddr).AppendTo(b)
	}
	b = append(b, 0)
	b = append(b, password...)
	m.h.Write(b)
	clear(b) // no password left in the pool
	m.buf = b[:0]
	m.h.Sum(m.sum[:0])
	m.h.Reset()
	*out = m.sum
	c.macs.Put(m)
	return out[:]
}

// macState is a reusable HMAC and its input buffer.
type macState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// Authenticate implements PassDB.
func (c *Cache) Authenticate(ctx context.Context, user, password string) (*Identity, error) {
	c.init()
	var macBuf [sha256.Size]byte
	mac := c.mac(ctx, user, password, &macBuf)
	c.mu.Lock()
	if el, ok := c.entries[user]; ok {
		e := el.Value.(*cacheEntry)
		if c.now().After(e.expires) {
			c.lru.Remove(el)
			delete(c.entries, user)
		} else {
			c.lru.MoveToFront(el)
			switch {
			case e.pwMAC == nil:
				c.mu.Unlock()
				return nil, ErrUnknownUser
			case hmac.Equal(e.pwMAC, mac):
				id := copyIdentity(e.id)
				c.mu.Unlock()
				return id, nil
			}
		}
	}
	c.mu.Unlock()
	MayBlock(ctx)
	id, err := c.PassDB.Authenticate(ctx, user, password)
	switch {
	case err == nil:
		c.put(&cacheEntry{user: user, pwMAC: append([]byte(nil), mac...), id: copyIdentity(id), expires: c.now().Add(orDefault(c.TTL, DefaultCacheTTL))})
	case errors.Is(err, ErrUnknownUser) && c.NegativeTTL >= 0:
		c.put(&cacheEntry{user: user, expires: c.now().Add(orDefault(c.NegativeTTL, DefaultCacheNegativeTTL))})
	}
	return id, err
}

func (c *Cache) put(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.user]; ok {
		c.lru.Remove(el)
	}
	c.entries[e.user] = c.lru.PushFront(e)
	for c.lru.Len() > orDefault(c.Size, DefaultCacheSize) {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*cacheEntry).user)
	}
}

// Flush empties the cache (doveadm auth cache flush).
func (c *Cache) Flush() {
	c.init()
	c.mu.Lock()
	c.lru.Init()
	clear(c.entries)
	c.mu.Unlock()
}

// Len returns the number of cached entries.
func (c *Cache) Len() int {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// LookupCredentials implements CredentialLookup by passing through.
func (c *Cache) LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error) {
	cl, ok := c.PassDB.(CredentialLookup)
	if !ok {
		return nil, ErrUnsupportedScheme
	}
	return cl.LookupCredentials(ctx, user, scheme)
}

// canLookupCredentials reports whether db can answer credential lookups:
// it implements CredentialLookup and, for a Cache, so does what it
// wraps (a Cache in front of PAM must not make CRAM-MD5 or SCRAM look
// available).
func canLookupCredentials(db PassDB) bool {
	if c, ok := db.(*Cache); ok {
		return canLookupCredentials(c.PassDB)
	}
	_, ok := db.(CredentialLookup)
	return ok
}

func copyIdentity(id *Identity) *Identity {
	if id == nil {
		return nil
	}
	out := &Identity{User: id.User, Fields: make(map[string]string, len(id.Fields))}
	for k, v := range id.Fields {
		out.Fields[k] = v
	}
	return out
}
