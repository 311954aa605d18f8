package restrict

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Resolver is the DNS the policy uses for MX/A lookups (reject_unknown_*),
// DNSBL and RHSBL queries. *net.Resolver implements it; tests point a
// net.Resolver at a DNS server on 127.0.0.1. A "not found" answer must be
// reported as a *net.DNSError with IsNotFound set, a temporary failure with
// IsTemporary or IsTimeout set, as net.Resolver does.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Option configures a [Policy] built by [New].
type Option func(*Policy)

// WithResolver sets the DNS resolver (default net.DefaultResolver).
func WithResolver(r Resolver) Option { return func(p *Policy) { p.resolver = r } }

// WithLogger sets the logger for warnings (warn_if_reject, WARN results,
// table reloads). The default discards.
func WithLogger(l *slog.Logger) Option { return func(p *Policy) { p.log = l } }

// WithTable makes t answer for the table reference ref ("ldap:/etc/postfix/ldap.cf",
// "mysql:..."), for types this package does not open itself, or to
// replace a file table in tests.
func WithTable(ref string, t Table) Option {
	return func(p *Policy) { p.tables[ref] = t }
}

// WithClock sets the clock used for rate limits and table reload checks.
func WithClock(now func() time.Time) Option { return func(p *Policy) { p.now = now } }

// Table is a Postfix lookup table: a key goes in, a value or "not found"
// comes out. Lookups are exact on the key given; the policy applies
// Postfix's address and domain lookup orders on top. Implementations must
// be safe for concurrent use.
type Table interface {
	Lookup(ctx context.Context, key string) (value string, found bool, err error)
}

// Policy evaluates Postfix smtpd restrictions. Build one with [New]; it is
// safe for concurrent use and holds no per-session state.
type Policy struct {
	params   Params
	resolver Resolver
	log      *slog.Logger
	tables   map[string]Table
	now      func() time.Time
}

// ErrNotImplemented is returned while parts of the policy are unfinished.
var ErrNotImplemented = errors.New("restrict: not implemented")

// New compiles the restriction lists and opens the tables named in params.
// Errors name the parameter and the position of the bad element
// ("smtpd_recipient_restrictions: element 3 \"reject_unauth_destinaton\":
// unknown restriction").
func New(params Params, opts ...Option) (*Policy, error) {
	p := &Policy{params: params, tables: map[string]Table{}, now: time.Now}
	if p.params == nil {
		p.params = Params{}
	}
	for _, o := range opts {
		o(p)
	}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Params returns the parameters the policy was built from.
func (p *Policy) Params() Params { return p.params }

// Check evaluates the restrictions for stage against req and returns what
// Postfix would answer. With smtpd_delay_reject = yes (the default) the
// client, helo and sender restrictions are evaluated at StageRecipient,
// and earlier stages return Dunno. At StageRecipient smtpd_relay_restrictions
// is evaluated before smtpd_recipient_restrictions. An error means a table
// or DNS failure that Postfix answers with a temporary error; the
// Decision then carries that reply (451 4.3.0 Server configuration error).
func (p *Policy) Check(ctx context.Context, stage Stage, req *Request) (Decision, error) {
	return Decision{Action: Defer, Code: 451, Enhanced: "4.3.5", Text: "Server configuration problem"}, ErrNotImplemented
}

// HeloRequired reports smtpd_helo_required: MAIL FROM before HELO/EHLO is
// refused with "503 5.5.1 Error: send HELO/EHLO first".
func (p *Policy) HeloRequired() bool { return p.params.Bool("smtpd_helo_required") }

// MessageSizeLimit returns message_size_limit in bytes (0 = no limit).
func (p *Policy) MessageSizeLimit() int64 { return p.params.Int("message_size_limit") }
