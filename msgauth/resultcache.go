package msgauth

import (
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dmarc"
)

// ResultCache keeps SPF results per (client IP, HELO name, MAIL FROM)
// and parsed DMARC records per From domain for TTL, so that a burst of
// mail from one sender costs one SPF evaluation and one DMARC parse (the
// DNS answers alone are already cached by a [CachingResolver]; the
// evaluation over them was most of SPF's and DMARC's CPU). Temporary
// failures are not kept. Set it on a [Verifier]; it is safe for
// concurrent use.
type ResultCache struct {
	// TTL is how long a result is kept (1 minute, as the fullserver's
	// DNS cache: a changed policy is seen no later than without it).
	TTL time.Duration
	// Max bounds the entries of each kind (10000); a full map starts over.
	Max int

	mu    sync.Mutex
	spf   map[string]cachedSPF
	dmarc map[string]cachedDMARC
}

type cachedSPF struct {
	r       SPFResult
	expires time.Time
}

type cachedDMARC struct {
	rec     *dmarc.Record
	at      string
	err     error
	expires time.Time
}

func (c *ResultCache) limits() (time.Duration, int) {
	ttl, max := c.TTL, c.Max
	if ttl <= 0 {
		ttl = time.Minute
	}
	if max <= 0 {
		max = 10000
	}
	return ttl, max
}

// spfKey is the key of an SPF result: everything check_host() reads
// (macros can name the local part, the HELO name and the IP).
func spfKey(ip, helo, mailFrom string) string {
	return ip + "\x00" + helo + "\x00" + mailFrom
}

func (c *ResultCache) getSPF(key string) (SPFResult, bool) {
	if c == nil {
		return SPFResult{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.spf[key]
	if !ok || time.Now().After(e.expires) {
		return SPFResult{}, false
	}
	return e.r, true
}

func (c *ResultCache) putSPF(key string, r SPFResult) {
	if c == nil || r.Result == ResultTempError {
		return
	}
	ttl, max := c.limits()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spf == nil || len(c.spf) >= max {
		c.spf = map[string]cachedSPF{}
	}
	c.spf[key] = cachedSPF{r: r, expires: time.Now().Add(ttl)}
}

func (c *ResultCache) getDMARC(domain string) (*dmarc.Record, string, error, bool) {
	if c == nil {
		return nil, "", nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.dmarc[domain]
	if !ok || time.Now().After(e.expires) {
		return nil, "", nil, false
	}
	return e.rec, e.at, e.err, true
}

func (c *ResultCache) putDMARC(domain string, rec *dmarc.Record, at string, err error) {
	if c == nil || dmarc.IsTempFail(err) {
		return
	}
	ttl, max := c.limits()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dmarc == nil || len(c.dmarc) >= max {
		c.dmarc = map[string]cachedDMARC{}
	}
	c.dmarc[domain] = cachedDMARC{rec: rec, at: at, err: err, expires: time.Now().Add(ttl)}
}
