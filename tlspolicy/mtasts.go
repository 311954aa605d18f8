package tlspolicy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults of STS fields.
const (
	DefaultSTSFetchTimeout = 60 * time.Second // RFC 8461 3.3: "a reasonable timeout"
	DefaultSTSMaxCache     = 10000
)

// STS finds, fetches and caches the MTA-STS policies of next-hop
// domains (RFC 8461 3 and 5): the "_mta-sts" TXT record first, then the
// policy over HTTPS from https://mta-sts.DOMAIN/.well-known/mta-sts.txt
// with a validated certificate, no redirects, a time limit and a size
// limit. A policy is cached for its max_age and fetched again when the
// record's id changes; when the record disappears or the fetch fails,
// the cached policy stays in force until it expires (RFC 8461 5.1).
// Its zero value needs Resolver; the methods are safe for concurrent
// use.
type STS struct {
	// Resolver answers the TXT queries.
	Resolver TXTResolver
	// RootCAs verifies the policy host's certificate; the system roots
	// when nil.
	RootCAs *x509.CertPool
	// DialContext, when set, connects to the policy host (tests point it
	// at 127.0.0.1); a net.Dialer when nil.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// FetchTimeout bounds a policy fetch; DefaultSTSFetchTimeout when 0.
	FetchTimeout time.Duration
	// MaxCache bounds the domains cached; DefaultSTSMaxCache when 0.
	MaxCache int
	// Logger receives fetch failures; discarded when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]*stsEntry
	cl    *http.Client
}

type stsEntry struct {
	id      string
	policy  *STSPolicy
	fetched time.Time
	expires time.Time
}

func (s *STS) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *STS) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *STS) client() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		d := s.DialContext
		if d == nil {
			d = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
		}
		s.cl = &http.Client{
			Transport: &http.Transport{
				DialContext:            d,
				TLSClientConfig:        &tls.Config{RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12},
				Proxy:                  nil,
				DisableKeepAlives:      true,
				MaxResponseHeaderBytes: 16 << 10,
			},
			// RFC 8461 3.3: HTTP redirects MUST NOT be followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return s.cl
}

// ErrNoSTSPolicy is returned when the domain has no MTA-STS policy in
// force (no record and nothing cached, or mode none).
var ErrNoSTSPolicy = errors.New("no MTA-STS policy")

// Policy returns the policy in force for domain, fetching it when the
// cache has none or the record's id changed. It returns ErrNoSTSPolicy
// when there is none; other errors (DNS trouble, fetch failure without
// a cached policy) also mean no policy applies (RFC 8461 5.1: a sender
// does not fail closed without a policy it knows), and are for TLS-RPT
// and logs.
func (s *STS) Policy(ctx context.Context, domain string) (*STSPolicy, error) {
	domain = normalizeHost(domain)
	now := s.now()
	s.mu.Lock()
	e := s.cache[domain]
	if e != nil && !now.Before(e.expires) {
		delete(s.cache, domain)
		e = nil
	}
	s.mu.Unlock()

	txts, err := s.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		if e != nil {
			return e.cachedPolicy()
		}
		return nil, err
	}
	var rec STSRecord
	n := 0
	for _, t := range txts {
		if !strings.HasPrefix(t, "v=STSv1") {
			continue // RFC 8461 3.1: other records are ignored
		}
		n++
		if r, err := ParseSTSRecord(t); err == nil {
			rec = r
		}
	}
	if n != 1 || rec.ID == "" {
		// None, several or a malformed one: as if there were none.
		if e != nil {
			return e.cachedPolicy()
		}
		return nil, ErrNoSTSPolicy
	}
	if e != nil && e.id == rec.ID {
		return e.cachedPolicy()
	}
	p, err := s.fetch(ctx, domain)
	if err != nil {
		s.log().Warn("MTA-STS policy fetch failed", "domain", domain, "error", err.Error())
		if e != nil {
			return e.cachedPolicy()
		}
		return nil, err
	}
	s.store(domain, &stsEntry{id: rec.ID, policy: p, fetched: now, expires: now.Add(p.MaxAge)})
	if p.Mode == STSNone {
		return nil, ErrNoSTSPolicy
	}
	return p, nil
}

func (e *stsEntry) cachedPolicy() (*STSPolicy, error) {
	if e.policy.Mode == STSNone {
		return nil, ErrNoSTSPolicy
	}
	return e.policy, nil
}

func (s *STS) store(domain string, e *stsEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = map[string]*stsEntry{}
	}
	max := s.MaxCache
	if max <= 0 {
		max = DefaultSTSMaxCache
	}
	if _, ok := s.cache[domain]; !ok && len(s.cache) >= max {
		// Full: drop the entry that expires first.
		var victim string
		var first time.Time
		for d, o := range s.cache {
			if victim == "" || o.expires.Before(first) {
				victim, first = d, o.expires
			}
		}
		delete(s.cache, victim)
	}
	s.cache[domain] = e
}

// Refresh fetches again the cached policies whose record id changed,
// and extends the life of the others, as RFC 8461 5.1 suggests doing
// before they expire. It is meant to run daily.
func (s *STS) Refresh(ctx context.Context) {
	s.mu.Lock()
	domains := make([]string, 0, len(s.cache))
	for d := range s.cache {
		domains = append(domains, d)
	}
	s.mu.Unlock()
	for _, d := range domains {
		if ctx.Err() != nil {
			return
		}
		s.Policy(ctx, d)
		s.mu.Lock()
		if e := s.cache[d]; e != nil {
			// The record's id is unchanged or the policy was fetched
			// again: either way it is current for another max_age.
			e.expires = s.now().Add(e.policy.MaxAge)
		}
		s.mu.Unlock()
	}
}

// fetch gets and parses https://mta-sts.DOMAIN/.well-known/mta-sts.txt.
func (s *STS) fetch(ctx context.Context, domain string) (*STSPolicy, error) {
	to := s.FetchTimeout
	if to <= 0 {
		to = DefaultSTSFetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client().Do(req)
	if err != nil {
		var ce *tls.CertificateVerificationError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w: %v", ErrSTSFetchCert, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrSTSFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP status %d", ErrSTSFetch, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("%w: Content-Type is not text/plain", ErrSTSFetch)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSTSPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSTSFetch, err)
	}
	p, err := ParseSTSPolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSTSPolicyInvalid, err)
	}
	return p, nil
}

// Errors of a policy fetch, told apart for TLS-RPT's result types.
var (
	ErrSTSFetch         = errors.New("MTA-STS policy fetch failed")             // sts-policy-fetch-error
	ErrSTSFetchCert     = errors.New("MTA-STS policy host certificate invalid") // sts-webpki-invalid
	ErrSTSPolicyInvalid = errors.New("MTA-STS policy invalid")                  // sts-policy-invalid
)
