package restrict

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Limiter enforces Postfix's anvil(8) per-client limits: concurrent
// connections, and connection, message, recipient, AUTH and new-TLS-session
// rates per time unit. A zero limit means no limit. Rates are counted in a
// window that starts with a client's first event and lasts TimeUnit, as
// anvil does. It is safe for concurrent use.
type Limiter struct {
	// ConnectionCountLimit is smtpd_client_connection_count_limit (Postfix default 50).
	ConnectionCountLimit int
	// ConnectionRateLimit is smtpd_client_connection_rate_limit.
	ConnectionRateLimit int
	// MessageRateLimit is smtpd_client_message_rate_limit.
	MessageRateLimit int
	// RecipientRateLimit is smtpd_client_recipient_rate_limit.
	RecipientRateLimit int
	// AuthRateLimit is smtpd_client_auth_rate_limit.
	AuthRateLimit int
	// NewTLSSessionRateLimit is smtpd_client_new_tls_session_rate_limit.
	NewTLSSessionRateLimit int
	// TimeUnit is anvil_rate_time_unit (default 60s).
	TimeUnit time.Duration
	// Exempt reports clients not subject to limits
	// (smtpd_client_event_limit_exceptions, default $mynetworks).
	Exempt func(netip.Addr) bool
	// Hostname is put in 421 replies (myhostname).
	Hostname string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxClients bounds the number of clients tracked; beyond it, idle
	// entries are dropped first (default 100000).
	MaxClients int

	mu      sync.Mutex
	clients map[netip.Addr]*anvilClient
	ops     int
}

type anvilClient struct {
	conns       int
	windowStart time.Time
	rates       [numEvents]int
}

type anvilEvent int

const (
	evConnect anvilEvent = iota
	evMessage
	evRecipient
	evAuth
	evTLS
	numEvents
)

// NewLimiter returns a Limiter configured from the policy's parameters,
// exempting smtpd_client_event_limit_exceptions.
func (p *Policy) NewLimiter() *Limiter {
	l := &Limiter{
		ConnectionCountLimit:   int(p.params.Int("smtpd_client_connection_count_limit")),
		ConnectionRateLimit:    int(p.params.Int("smtpd_client_connection_rate_limit")),
		MessageRateLimit:       int(p.params.Int("smtpd_client_message_rate_limit")),
		RecipientRateLimit:     int(p.params.Int("smtpd_client_recipient_rate_limit")),
		AuthRateLimit:          int(p.params.Int("smtpd_client_auth_rate_limit")),
		NewTLSSessionRateLimit: int(p.params.Int("smtpd_client_new_tls_session_rate_limit")),
		TimeUnit:               p.params.Duration("anvil_rate_time_unit"),
		Hostname:               p.params.Get("myhostname"),
		Now:                    p.now,
	}
	ex := p.eventExceptions
	l.Exempt = func(a netip.Addr) bool { return ex.matchHost(context.Background(), nil, "", a) }
	return l
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limiter) client(a netip.Addr, now time.Time) *anvilClient {
	if l.clients == nil {
		l.clients = map[netip.Addr]*anvilClient{}
	}
	c := l.clients[a]
	if c == nil {
		max := l.MaxClients
		if max <= 0 {
			max = 100000
		}
		if len(l.clients) >= max {
			l.sweep(now, true)
		}
		c = &anvilClient{windowStart: now}
		l.clients[a] = c
	}
	unit := l.TimeUnit
	if unit <= 0 {
		unit = 60 * time.Second
	}
	if now.Sub(c.windowStart) >= unit {
		c.windowStart = now
		c.rates = [numEvents]int{}
	}
	l.ops++
	if l.ops%1024 == 0 {
		l.sweep(now, false)
	}
	return c
}

// sweep drops idle clients (no connections, window over); when force is
// set and nothing is idle, it drops clients without open connections.
func (l *Limiter) sweep(now time.Time, force bool) {
	unit := l.TimeUnit
	if unit <= 0 {
		unit = 60 * time.Second
	}
	n := len(l.clients)
	for a, c := range l.clients {
		if c.conns == 0 && now.Sub(c.windowStart) >= unit {
			delete(l.clients, a)
		}
	}
	if force && len(l.clients) == n {
		for a, c := range l.clients {
			if c.conns == 0 {
				delete(l.clients, a)
			}
		}
	}
}

func (l *Limiter) exempt(a netip.Addr) bool {
	return !a.IsValid() || (l.Exempt != nil && l.Exempt(a.Unmap()))
}

// Connect counts a new connection from addr. It returns a refusal
// ("421 4.7.0 host Error: too many connections from addr") when the
// connection count or rate limit is exceeded, and a release function that
// the caller must call when the connection ends, refused or not.
func (l *Limiter) Connect(addr netip.Addr) (Decision, func()) {
	addr = addr.Unmap()
	if l.exempt(addr) {
		return Decision{}, func() {}
	}
	now := l.now()
	l.mu.Lock()
	c := l.client(addr, now)
	c.conns++
	c.rates[evConnect]++
	count, rate := c.conns, c.rates[evConnect]
	l.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			l.mu.Lock()
			if c := l.clients[addr]; c != nil && c.conns > 0 {
				c.conns--
			}
			l.mu.Unlock()
		})
	}
	if (l.ConnectionCountLimit > 0 && count > l.ConnectionCountLimit) ||
		(l.ConnectionRateLimit > 0 && rate > l.ConnectionRateLimit) {
		return Decision{Action: Defer, Code: 421, Enhanced: "4.7.0",
			Text:        fmt.Sprintf("%s Error: too many connections from %s", l.Hostname, addrString(addr)),
			Restriction: "anvil"}, release
	}
	return Decision{}, release
}

func (l *Limiter) event(addr netip.Addr, ev anvilEvent, limit int, code int, dsn, what string) Decision {
	addr = addr.Unmap()
	if limit <= 0 || l.exempt(addr) {
		return Decision{}
	}
	now := l.now()
	l.mu.Lock()
	c := l.client(addr, now)
	c.rates[ev]++
	n := c.rates[ev]
	l.mu.Unlock()
	if n > limit {
		return Decision{Action: Defer, Code: code, Enhanced: dsn,
			Text: fmt.Sprintf("Error: too %s from %s", what, addrString(addr)), Restriction: "anvil"}
	}
	return Decision{}
}

// Message counts a MAIL FROM ("450 4.7.1 Error: too much mail from addr").
func (l *Limiter) Message(addr netip.Addr) Decision {
	return l.event(addr, evMessage, l.MessageRateLimit, 450, "4.7.1", "much mail")
}

// Recipient counts a RCPT TO ("450 4.7.1 Error: too many recipients from addr").
func (l *Limiter) Recipient(addr netip.Addr) Decision {
	return l.event(addr, evRecipient, l.RecipientRateLimit, 450, "4.7.1", "many recipients")
}

// Auth counts an AUTH command ("450 4.7.1 Error: too many AUTH commands from addr").
func (l *Limiter) Auth(addr netip.Addr) Decision {
	return l.event(addr, evAuth, l.AuthRateLimit, 450, "4.7.1", "many AUTH commands")
}

// NewTLSSession counts a TLS handshake that did not resume a session
// ("421 4.7.0 host Error: too many new TLS sessions from addr").
func (l *Limiter) NewTLSSession(addr netip.Addr) Decision {
	d := l.event(addr, evTLS, l.NewTLSSessionRateLimit, 421, "4.7.0", "many new TLS sessions")
	if d.Code != 0 {
		d.Text = l.Hostname + " " + d.Text
	}
	return d
}

// CheckSize applies message_size_limit to a SIZE= value or an actual
// size: "552 5.3.4 Message size exceeds fixed limit".
func (p *Policy) CheckSize(size int64) Decision {
	if limit := p.MessageSizeLimit(); limit > 0 && size > limit {
		return Decision{Action: Reject, Code: 552, Enhanced: "5.3.4", Text: "Message size exceeds fixed limit", Restriction: "message_size_limit"}
	}
	return Decision{}
}
