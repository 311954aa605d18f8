package restrict

import (
	"sync"
	"sync/atomic"
	"time"
)

// rblCache remembers DNSBL answers across evaluations, as smtpd's
// smtpd_rbl_cache does (Postfix keeps them for the life of an smtpd
// process; here they live for rblCacheTTL). Temporary failures are not
// kept.
type rblCache struct {
	m       sync.Map // rblKey -> *rblEntry
	n       atomic.Int64
	calls   atomic.Uint32
	lastNow atomic.Int64
	now     func() time.Time
}

type rblKey struct {
	spec   *rblSpec
	prefix string
}

type rblEntry struct {
	res     *rblResult // nil: not listed
	expires int64
}

const (
	rblCacheTTL = time.Minute
	rblCacheMax = 10000
)

// clock reads the time on every 16th call only.
func (c *rblCache) clock() int64 {
	if c.calls.Add(1)%16 == 1 || c.lastNow.Load() == 0 {
		n := c.now().UnixNano()
		c.lastNow.Store(n)
		return n
	}
	return c.lastNow.Load()
}

func (c *rblCache) get(k rblKey) (*rblResult, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		return nil, false
	}
	e := v.(*rblEntry)
	if c.clock() > e.expires {
		return nil, false
	}
	return e.res, true
}

func (c *rblCache) put(k rblKey, res *rblResult) {
	if res != nil && res.soft {
		return
	}
	if c.n.Add(1) > rblCacheMax {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(k, &rblEntry{res: res, expires: c.clock() + int64(rblCacheTTL)})
}
