package msgauth

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// CachingResolver remembers the answers of another Resolver, found and
// "no such name" alike, for TTL, so that a burst of mail from one domain
// asks DNS once (net.Resolver has no cache). Temporary failures are not
// cached. It holds at most Max entries (default 10000), dropping the
// oldest half when full. Safe for concurrent use.
type CachingResolver struct {
	Resolver Resolver
	TTL      time.Duration
	Max      int

	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	at   time.Time
	txt  []string
	mx   []*net.MX
	ip   []net.IPAddr
	name []string
	err  error
}

func (c *CachingResolver) get(key string) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Since(e.at) > c.TTL {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *CachingResolver) put(key string, e cacheEntry) {
	var dnsErr *net.DNSError
	if e.err != nil && !(errors.As(e.err, &dnsErr) && dnsErr.IsNotFound) {
		return
	}
	max := c.Max
	if max <= 0 {
		max = 10000
	}
	e.at = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cacheEntry{}
	}
	if len(c.m) >= max {
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= max/2 {
				break
			}
		}
	}
	c.m[key] = e
}

// LookupTXT implements Resolver.
func (c *CachingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if e, ok := c.get("txt:" + name); ok {
		return e.txt, e.err
	}
	v, err := c.Resolver.LookupTXT(ctx, name)
	c.put("txt:"+name, cacheEntry{txt: v, err: err})
	return v, err
}

// LookupMX implements Resolver.
func (c *CachingResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if e, ok := c.get("mx:" + name); ok {
		return e.mx, e.err
	}
	v, err := c.Resolver.LookupMX(ctx, name)
	c.put("mx:"+name, cacheEntry{mx: v, err: err})
	return v, err
}

// LookupIPAddr implements Resolver.
func (c *CachingResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if e, ok := c.get("ip:" + host); ok {
		return e.ip, e.err
	}
	v, err := c.Resolver.LookupIPAddr(ctx, host)
	c.put("ip:"+host, cacheEntry{ip: v, err: err})
	return v, err
}

// LookupAddr implements Resolver.
func (c *CachingResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	if e, ok := c.get("ptr:" + addr); ok {
		return e.name, e.err
	}
	v, err := c.Resolver.LookupAddr(ctx, addr)
	c.put("ptr:"+addr, cacheEntry{name: v, err: err})
	return v, err
}
