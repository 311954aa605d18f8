package restrict

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// rblCache remembers one DNSBL's answers across evaluations, as smtpd's
// smtpd_rbl_cache does (Postfix keeps them for the life of an smtpd
// process; here they live for rblCacheTTL). Temporary failures are not
// kept. Each rblSpec has its own cache, so the keys are plain addresses
// and names: no query name is built and nothing is allocated on a hit.
//
// A plain map under a RWMutex, not a sync.Map: the keys are few and
// read far more often than written, and a sync.Map hashes its interface
// keys through the slow generic path.
type rblCache struct {
	mu    sync.RWMutex
	addrs map[netip.Addr]rblEntry // reject_rbl_client: by client address
	names map[string]rblEntry     // RHSBL: by domain
}

type rblEntry struct {
	res     *rblResult // nil: not listed
	expires int64      // coarseClock nanoseconds
}

const (
	rblCacheTTL = time.Minute
	// rblCacheMax bounds each list's cache (addresses and names each);
	// a full cache is emptied.
	rblCacheMax = 10000
)

func (c *rblCache) getAddr(a netip.Addr, now int64) (*rblResult, bool) {
	c.mu.RLock()
	e, ok := c.addrs[a]
	c.mu.RUnlock()
	return e.res, ok && now <= e.expires
}

func (c *rblCache) getName(name string, now int64) (*rblResult, bool) {
	c.mu.RLock()
	e, ok := c.names[name]
	c.mu.RUnlock()
	return e.res, ok && now <= e.expires
}

func (c *rblCache) putAddr(a netip.Addr, res *rblResult, now int64) {
	if res != nil && res.soft {
		return
	}
	c.mu.Lock()
	if c.addrs == nil || len(c.addrs) >= rblCacheMax {
		c.addrs = map[netip.Addr]rblEntry{}
	}
	c.addrs[a] = rblEntry{res: res, expires: now + int64(rblCacheTTL)}
	c.mu.Unlock()
}

func (c *rblCache) putName(name string, res *rblResult, now int64) {
	if res != nil && res.soft {
		return
	}
	c.mu.Lock()
	if c.names == nil || len(c.names) >= rblCacheMax {
		c.names = map[string]rblEntry{}
	}
	c.names[name] = rblEntry{res: res, expires: now + int64(rblCacheTTL)}
	c.mu.Unlock()
}

// coarseClock reads the time on every 16th call only (time.Now can cost
// a system call on virtual machines): an expired entry may be served for
// up to 15 more lookups.
type coarseClock struct {
	now   func() time.Time
	calls atomic.Uint32
	last  atomic.Int64
}

// nano returns the time in Unix nanoseconds.
func (c *coarseClock) nano() int64 {
	if c.calls.Add(1)%16 == 1 || c.last.Load() == 0 {
		n := c.now().UnixNano()
		c.last.Store(n)
		return n
	}
	return c.last.Load()
}
