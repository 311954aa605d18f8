package restrict

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// CachingResolver remembers answers (including "not found") of another
// Resolver for a fixed time, as Postfix's smtpd keeps its DNSBL and
// address caches across sessions. Temporary failures are not cached.
type CachingResolver struct {
	r       Resolver
	ttl     time.Duration
	max     int
	now     func() time.Time
	mu      sync.RWMutex
	entries map[cacheKey]*cacheEntry

	// The clock is read on every 16th lookup only (time.Now can cost a
	// system call on virtual machines): an expired answer may be served
	// for up to 15 more lookups.
	calls   atomic.Uint32
	lastNow atomic.Int64
}

type cacheKey struct {
	kind byte // 'm' MX, 'i' IP (with network), 't' TXT
	net  string
	name string
}

type cacheEntry struct {
	expires time.Time
	mx      []*net.MX
	ips     []netip.Addr
	txt     []string
	err     error
}

// NewCachingResolver wraps r; answers live for ttl (default 1 minute) and
// at most max names are kept (default 10000).
func NewCachingResolver(r Resolver, ttl time.Duration, max int) *CachingResolver {
	if ttl <= 0 {
		ttl = time.Minute
	}
	if max <= 0 {
		max = 10000
	}
	return &CachingResolver{r: r, ttl: ttl, max: max, now: time.Now, entries: map[cacheKey]*cacheEntry{}}
}

func (c *CachingResolver) clock() time.Time {
	if c.calls.Add(1)%16 == 1 || c.lastNow.Load() == 0 {
		n := c.now()
		c.lastNow.Store(n.UnixNano())
		return n
	}
	return time.Unix(0, c.lastNow.Load())
}

func (c *CachingResolver) get(k cacheKey) (*cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || c.clock().After(e.expires) {
		return nil, false
	}
	return e, true
}

func (c *CachingResolver) put(k cacheKey, e *cacheEntry) {
	if e.err != nil && classifyDNSErr(e.err) != dnsNotFound {
		return
	}
	e.expires = c.now().Add(c.ttl)
	c.mu.Lock()
	if len(c.entries) >= c.max {
		for old := range c.entries { // drop an arbitrary tenth
			delete(c.entries, old)
			if len(c.entries) < c.max*9/10 {
				break
			}
		}
	}
	c.entries[k] = e
	c.mu.Unlock()
}

// LookupMX implements Resolver.
func (c *CachingResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	k := cacheKey{kind: 'm', name: name}
	if e, ok := c.get(k); ok {
		return e.mx, e.err
	}
	mx, err := c.r.LookupMX(ctx, name)
	c.put(k, &cacheEntry{mx: mx, err: err})
	return mx, err
}

// LookupNetIP implements Resolver.
func (c *CachingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	k := cacheKey{kind: 'i', net: network, name: host}
	if e, ok := c.get(k); ok {
		return e.ips, e.err
	}
	ips, err := c.r.LookupNetIP(ctx, network, host)
	c.put(k, &cacheEntry{ips: ips, err: err})
	return ips, err
}

// LookupTXT implements Resolver.
func (c *CachingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	k := cacheKey{kind: 't', name: name}
	if e, ok := c.get(k); ok {
		return e.txt, e.err
	}
	txt, err := c.r.LookupTXT(ctx, name)
	c.put(k, &cacheEntry{txt: txt, err: err})
	return txt, err
}
