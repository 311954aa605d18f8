package restrict

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// CachingResolver remembers answers (including "not found") of another
// Resolver for a fixed time, as Postfix's smtpd keeps its DNSBL and
// address caches across sessions. Temporary failures are not cached.
type CachingResolver struct {
	r     Resolver
	ttl   time.Duration
	max   int
	clock coarseClock
	mu    sync.RWMutex
	// entries holds one map per kind of query, keyed by name: a string
	// key hashes faster than a struct of kind and name.
	entries [numCacheKinds]map[string]*cacheEntry
	n       int // entries in all maps
}

// cacheKind is the kind of query an answer belongs to.
type cacheKind int

const (
	cacheMX  cacheKind = iota
	cacheIP            // LookupNetIP "ip"
	cacheIP4           // LookupNetIP "ip4"
	cacheIP6           // LookupNetIP "ip6"
	cacheTXT
	numCacheKinds
)

type cacheEntry struct {
	expires int64 // Unix nanoseconds
	mx      []*net.MX
	ips     []netip.Addr
	txt     []string
	err     error
}

// NewCachingResolver wraps r; answers live for ttl (default 1 minute) and
// at most max names are kept (default 10000). The clock is read on every
// 16th lookup only (time.Now can cost a system call on virtual
// machines): an expired answer may be served for up to 15 more lookups.
func NewCachingResolver(r Resolver, ttl time.Duration, max int) *CachingResolver {
	if ttl <= 0 {
		ttl = time.Minute
	}
	if max <= 0 {
		max = 10000
	}
	c := &CachingResolver{r: r, ttl: ttl, max: max}
	c.clock.now = time.Now
	for i := range c.entries {
		c.entries[i] = map[string]*cacheEntry{}
	}
	return c
}

func (c *CachingResolver) get(kind cacheKind, name string) (*cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.entries[kind][name]
	c.mu.RUnlock()
	if !ok || c.clock.nano() > e.expires {
		return nil, false
	}
	return e, true
}

func (c *CachingResolver) put(kind cacheKind, name string, e *cacheEntry) {
	if e.err != nil && classifyDNSErr(e.err) != dnsNotFound {
		return
	}
	e.expires = c.clock.now().Add(c.ttl).UnixNano()
	c.mu.Lock()
	if c.n >= c.max {
		// Drop an arbitrary tenth.
		for _, m := range c.entries {
			for old := range m {
				delete(m, old)
				c.n--
				if c.n < c.max*9/10 {
					break
				}
			}
			if c.n < c.max*9/10 {
				break
			}
		}
	}
	if _, ok := c.entries[kind][name]; !ok {
		c.n++
	}
	c.entries[kind][name] = e
	c.mu.Unlock()
}

// LookupMX implements Resolver.
func (c *CachingResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if e, ok := c.get(cacheMX, name); ok {
		return e.mx, e.err
	}
	mx, err := c.r.LookupMX(ctx, name)
	c.put(cacheMX, name, &cacheEntry{mx: mx, err: err})
	return mx, err
}

// LookupNetIP implements Resolver.
func (c *CachingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var kind cacheKind
	switch network {
	case "ip":
		kind = cacheIP
	case "ip4":
		kind = cacheIP4
	case "ip6":
		kind = cacheIP6
	default:
		return c.r.LookupNetIP(ctx, network, host) // an error for net.Resolver
	}
	if e, ok := c.get(kind, host); ok {
		return e.ips, e.err
	}
	ips, err := c.r.LookupNetIP(ctx, network, host)
	c.put(kind, host, &cacheEntry{ips: ips, err: err})
	return ips, err
}

// LookupTXT implements Resolver.
func (c *CachingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if e, ok := c.get(cacheTXT, name); ok {
		return e.txt, e.err
	}
	txt, err := c.r.LookupTXT(ctx, name)
	c.put(cacheTXT, name, &cacheEntry{txt: txt, err: err})
	return txt, err
}
