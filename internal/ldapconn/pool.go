// Package ldapconn is the connection pool that yubin's LDAP clients
// (auth/ldap, the restrict/table ldap: table) share: dialling an LDAP
// URI with LDAPS or StartTLS and an optional bind, bounded in time, and
// a bounded pool of connections that closes any connection that saw a
// network error, a timeout or a cancelled context.
package ldapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	ldapc "github.com/go-ldap/ldap/v3"
)

// ErrUnavailable wraps every failure to reach the server or to get an
// answer in time: callers make it a temporary failure.
var ErrUnavailable = errors.New("ldap server unavailable")

// ErrBindRefused wraps a refused bind with Dialer.BindDN (a
// configuration error; also unavailable).
var ErrBindRefused = errors.New("ldap bind refused")

// DefaultTimeout is Dialer.Timeout's default.
const DefaultTimeout = 5 * time.Second

// Dialer makes connections.
type Dialer struct {
	URIs     []string // ldap://, ldaps://, ldapi:// URIs, tried in order
	StartTLS bool     // StartTLS on ldap:// URIs
	// TLS returns the client TLS settings for a host; nil means
	// verification against the system roots with ServerName host.
	TLS func(host string) *tls.Config
	// BindDN and BindPW, when BindDN is set, are bound as after connecting.
	BindDN, BindPW string
	// SASLExternal binds with SASL EXTERNAL after connecting instead:
	// the server takes the identity from the connection (the uid and
	// gid of this process over ldapi://, a TLS client certificate).
	SASLExternal bool
	// Timeout bounds dialling with StartTLS and bind, each operation, and
	// the wait for a pool slot; zero means DefaultTimeout.
	Timeout time.Duration
}

func (d *Dialer) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

func (d *Dialer) tlsConfig(host string) *tls.Config {
	if d.TLS != nil {
		return d.TLS(host)
	}
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// Dial connects to the first URI that answers.
func (d *Dialer) Dial(ctx context.Context) (*ldapc.Conn, error) {
	return DialWith(ctx, d, func(raw net.Conn, isTLS bool) *ldapc.Conn {
		c := ldapc.NewConn(raw, isTLS)
		c.Start()
		c.SetTimeout(d.timeout())
		return c
	})
}

// Conn is what dialling needs of an LDAP connection: go-ldap's
// *ldap.Conn, or another client's (auth/ldap's synchronous one).
type Conn interface {
	StartTLS(*tls.Config) error
	ExternalBind() error
	Bind(dn, password string) error
	Close() error
}

// DialWith connects to the first of d's URIs that answers, makes the
// network connection an LDAP one with wrap (isTLS for LDAPS), and does
// what d says on it: StartTLS, then the SASL EXTERNAL or simple bind,
// all by d's timeout. Failures wrap ErrUnavailable, and a refused bind
// also ErrBindRefused.
func DialWith[C Conn](ctx context.Context, d *Dialer, wrap func(raw net.Conn, isTLS bool) C) (C, error) {
	var errs []error
	for _, uri := range d.URIs {
		c, err := dialOne(ctx, d, uri, wrap)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrBindRefused) {
			var zero C
			return zero, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		errs = append(errs, err)
	}
	var zero C
	return zero, fmt.Errorf("%w: %v", ErrUnavailable, errors.Join(errs...))
}

func dialOne[C Conn](ctx context.Context, d *Dialer, uri string, wrap func(net.Conn, bool) C) (C, error) {
	var zero C
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	deadline, _ := ctx.Deadline()
	var dialer net.Dialer
	var raw net.Conn
	var u *url.URL
	var err error
	isTLS := false
	if rest, ok := strings.CutPrefix(uri, "ldapi://"); ok {
		rest, _, _ = strings.Cut(rest, "/")
		path, perr := url.PathUnescape(rest)
		if perr != nil || path == "" {
			return zero, fmt.Errorf("%s: bad ldapi URI", uri)
		}
		raw, err = dialer.DialContext(ctx, "unix", path)
	} else {
		if u, err = url.Parse(uri); err != nil {
			return zero, err
		}
		switch u.Scheme {
		case "ldaps":
			td := tls.Dialer{NetDialer: &dialer, Config: d.tlsConfig(u.Hostname())}
			raw, err = td.DialContext(ctx, "tcp", hostPort(u, "636"))
			isTLS = true
		case "ldap":
			raw, err = dialer.DialContext(ctx, "tcp", hostPort(u, "389"))
		default:
			return zero, fmt.Errorf("%s: not an ldap://, ldaps:// or ldapi:// URI", uri)
		}
	}
	if err != nil {
		return zero, err
	}
	// Set-up (StartTLS, bind) must finish by the deadline: a server
	// that stops answering makes the reads fail.
	raw.SetDeadline(deadline)
	c := wrap(raw, isTLS)
	fail := func(err error) (C, error) {
		c.Close()
		return zero, err
	}
	if d.StartTLS && u != nil && u.Scheme == "ldap" {
		if err := c.StartTLS(d.tlsConfig(u.Hostname())); err != nil {
			return fail(fmt.Errorf("%s: StartTLS: %w", uri, err))
		}
	}
	if d.SASLExternal {
		if err := c.ExternalBind(); err != nil {
			if ldapc.IsErrorWithCode(err, ldapc.LDAPResultInvalidCredentials) || ldapc.IsErrorWithCode(err, ldapc.LDAPResultInappropriateAuthentication) {
				return fail(fmt.Errorf("%s: %w with SASL EXTERNAL: %v", uri, ErrBindRefused, err))
			}
			return fail(fmt.Errorf("%s: SASL EXTERNAL bind: %w", uri, err))
		}
	} else if d.BindDN != "" {
		if err := c.Bind(d.BindDN, d.BindPW); err != nil {
			if ldapc.IsErrorWithCode(err, ldapc.LDAPResultInvalidCredentials) {
				return fail(fmt.Errorf("%s: %w as %s: %v", uri, ErrBindRefused, d.BindDN, err))
			}
			return fail(fmt.Errorf("%s: bind as %s: %w", uri, d.BindDN, err))
		}
	}
	raw.SetDeadline(time.Time{})
	return c, nil
}

func hostPort(u *url.URL, port string) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Pool holds idle connections, at most Max in use and idle together.
type Pool struct {
	d     *Dialer
	slots chan struct{}
	idle  Idle[*ldapc.Conn]
}

// NewPool returns a pool of at most max connections made by d.
func NewPool(d *Dialer, max int) *Pool {
	return &Pool{d: d, slots: make(chan struct{}, max)}
}

func (p *Pool) get(ctx context.Context) (*ldapc.Conn, error) {
	t := time.NewTimer(p.d.timeout())
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	case <-t.C:
		return nil, fmt.Errorf("%w: all %d connections busy", ErrUnavailable, cap(p.slots))
	}
	for {
		c, ok := p.idle.Take()
		if !ok {
			break
		}
		if !c.IsClosing() {
			return c, nil
		}
	}
	c, err := p.d.Dial(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

func (p *Pool) put(c *ldapc.Conn, ok bool) {
	if ok && !c.IsClosing() {
		p.idle.Put(c)
	} else {
		c.Close()
	}
	<-p.slots
}

// Do runs op on a pooled connection. A cancelled ctx closes the
// connection (so op returns); failures other than an LDAP result from
// the server close it too, and come back wrapping ErrUnavailable. LDAP
// results (invalid credentials, no such object...) come back as they are.
func (p *Pool) Do(ctx context.Context, op func(*ldapc.Conn) error) error {
	c, err := p.get(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err = op(c)
	cancelled := !stop()
	result := err == nil || IsResult(err)
	p.put(c, result && !cancelled)
	switch {
	case cancelled:
		return fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	case !result:
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// IsResult reports whether err is an LDAP result from the server (the
// connection is fine) rather than a network or client error.
func IsResult(err error) bool {
	var le *ldapc.Error
	return errors.As(err, &le) && le.ResultCode < ldapc.ErrorNetwork
}

// Close closes the idle connections; the pool stays usable.
func (p *Pool) Close() { p.idle.Close() }
