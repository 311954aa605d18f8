package queue

import "time"

// smtpMaxIdlePerDest bounds the idle connections cached per nexthop: as
// many as default_destination_concurrency_limit deliveries run at once,
// as Postfix's smtp processes each keep theirs. With 4, a relay at 20
// parallel deliveries closed and reopened one connection in eleven.
const smtpMaxIdlePerDest = 20

// cacheGet takes an idle connection to the destination key from the
// cache (smtp_connection_cache_on_demand), nil when there is none.
func (t *SMTPTransport) cacheGet(key string) *smtpSession {
	if t.DisableConnectionCache {
		return nil
	}
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	ss := t.idle[key]
	if len(ss) == 0 {
		return nil
	}
	s := ss[len(ss)-1]
	if len(ss) == 1 {
		delete(t.idle, key)
	} else {
		t.idle[key] = ss[:len(ss)-1]
	}
	return s
}

// cachePut keeps s idle for smtp_connection_cache_time_limit, after
// which it is closed with QUIT. It returns false when s is not cached
// (too old for smtp_connection_reuse_time_limit, too many idle, closed).
func (t *SMTPTransport) cachePut(s *smtpSession) bool {
	if time.Since(s.created) >= smtpOrDur(t.ConnectionReuseTimeLimit, DefaultConnectionReuseTimeLimit) {
		return false
	}
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	if t.closed || len(t.idle[s.key]) >= smtpMaxIdlePerDest {
		return false
	}
	if t.idle == nil {
		t.idle = map[string][]*smtpSession{}
	}
	t.idle[s.key] = append(t.idle[s.key], s)
	limit := smtpOrDur(t.ConnectionCacheTimeLimit, DefaultConnectionCacheTimeLimit)
	time.AfterFunc(limit, func() {
		if t.cacheRemove(s) {
			s.quit()
		}
	})
	return true
}

// cacheRemove takes s out of the cache; false when it was taken already.
func (t *SMTPTransport) cacheRemove(s *smtpSession) bool {
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	ss := t.idle[s.key]
	for i, x := range ss {
		if x == s {
			ss = append(ss[:i], ss[i+1:]...)
			if len(ss) == 0 {
				delete(t.idle, s.key)
			} else {
				t.idle[s.key] = ss
			}
			return true
		}
	}
	return false
}
