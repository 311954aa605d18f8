package restrict

import (
	"context"
	"sync"
)

// domainClassCache remembers, across evaluations, whether a domain is
// local and which address class it has. It is used only when that is a
// function of the configuration alone: mydestination,
// virtual_alias_domains, virtual_mailbox_domains and relay_domains name
// no lookup table (a table may be reloaded or answer differently later),
// so it never needs invalidating. Postfix's smtpd likewise keeps
// trivial-rewrite's answers in a resolve cache.
type domainClassCache struct {
	mu sync.RWMutex
	m  map[string]domainClass
}

// domainClass is what resolveAddr needs to know about a domain.
type domainClass struct {
	local bool         // resolve_local: mydestination or an address literal of this host
	class AddressClass // for a non-local domain
	// fqdn is the domain with a trailing dot, for DNS lookups
	// (reject_unknown_sender_domain) without building it each time; ""
	// when not cached.
	fqdn string
}

// domainClassCacheMax bounds the cache; a full cache is emptied.
const domainClassCacheMax = 10000

func (c *domainClassCache) get(domain string) (domainClass, bool) {
	c.mu.RLock()
	dc, ok := c.m[domain]
	c.mu.RUnlock()
	return dc, ok
}

func (c *domainClassCache) put(domain string, dc domainClass) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= domainClassCacheMax {
		c.m = map[string]domainClass{}
	}
	dc.fqdn = fqdn(domain) // a copy: domain may be part of a long address
	c.m[dc.fqdn[:len(domain)]] = dc
	c.mu.Unlock()
}

// staticList reports whether ml's answers depend on the configuration
// only.
func staticList(ml *matchList) bool {
	if ml == nil {
		return true
	}
	for _, e := range ml.entries {
		if e.table != nil {
			return false
		}
	}
	return true
}

// classOf classifies a lower-cased domain: local (isLocalDomain) and, if
// not, its class (domainClass).
func (p *Policy) classOf(ctx context.Context, s *state, domain string) domainClass {
	if !p.staticClasses {
		return p.classOfUncached(ctx, s, domain)
	}
	if dc, ok := p.domainClasses.get(domain); ok {
		return dc
	}
	dc := p.classOfUncached(ctx, s, domain)
	p.domainClasses.put(domain, dc)
	return dc // without fqdn, this once
}

func (p *Policy) classOfUncached(ctx context.Context, s *state, domain string) domainClass {
	if p.isLocalDomain(ctx, s, domain) {
		return domainClass{local: true, class: ClassLocal}
	}
	return domainClass{class: p.domainClass(ctx, s, domain)}
}
