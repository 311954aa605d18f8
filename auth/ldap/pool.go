package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
)

// pool holds idle connections to the directory, at most max in use and
// idle together. Connections that saw an error are closed, never reused.
type pool struct {
	db    *DB
	bind  bool // connections bound as the service account (search pool)
	slots chan struct{}
	mu    sync.Mutex
	idle  []*ldapc.Conn
}

func newPool(db *DB, bind bool, max int) *pool {
	return &pool{db: db, bind: bind, slots: make(chan struct{}, max)}
}

// get returns a connection, dialling when none is idle; it waits for a
// free slot no longer than the operation timeout.
func (p *pool) get(ctx context.Context) (*ldapc.Conn, error) {
	t := time.NewTimer(p.db.timeout())
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: ldap: %v", auth.ErrTempFail, ctx.Err())
	case <-t.C:
		return nil, fmt.Errorf("%w: ldap: all %d connections busy", auth.ErrTempFail, cap(p.slots))
	}
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !c.IsClosing() {
			p.mu.Unlock()
			return c, nil
		}
	}
	p.mu.Unlock()
	c, err := p.db.dial(ctx, p.bind)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// put gives c back; a connection that failed (ok false) is closed.
func (p *pool) put(c *ldapc.Conn, ok bool) {
	if ok && !c.IsClosing() {
		p.mu.Lock()
		p.idle = append(p.idle, c)
		p.mu.Unlock()
	} else {
		c.Close()
	}
	<-p.slots
}

// close closes the idle connections.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.Close()
	}
	p.idle = nil
}

// tlsConfig builds the client TLS settings from tls_* settings for host.
func (d *DB) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, RootCAs: d.roots}
	switch d.cfg.TLSRequireCert {
	case "never", "allow":
		cfg.InsecureSkipVerify = true
	}
	if d.cert != nil {
		cfg.Certificates = []tls.Certificate{*d.cert}
	}
	return cfg, nil
}

// dial connects to the first URI that answers, does StartTLS when
// configured and, for the search pool, binds as the service account. All
// of it is bounded by the timeout.
func (d *DB) dial(ctx context.Context, bind bool) (*ldapc.Conn, error) {
	var errs []error
	for _, uri := range d.cfg.URIs {
		c, err := d.dialOne(ctx, uri, bind)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, errServiceBind) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: ldap: %v", auth.ErrTempFail, errors.Join(errs...))
}

var errServiceBind = errors.New("service account bind failed")

func (d *DB) dialOne(ctx context.Context, uri string, bind bool) (*ldapc.Conn, error) {
	u, err := url.Parse(uri)
	if err != nil && !strings.HasPrefix(uri, "ldapi://") {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	deadline, _ := ctx.Deadline()
	var raw net.Conn
	var dialer net.Dialer
	isTLS := false
	switch {
	case strings.HasPrefix(uri, "ldapi://"):
		path, perr := url.PathUnescape(strings.TrimPrefix(uri, "ldapi://"))
		if perr != nil {
			return nil, perr
		}
		path, _, _ = strings.Cut(path, "/?")
		raw, err = dialer.DialContext(ctx, "unix", strings.TrimSuffix(path, "/"))
	case u.Scheme == "ldaps":
		host := hostPort(u, "636")
		cfg, _ := d.tlsConfig(u.Hostname())
		td := tls.Dialer{NetDialer: &dialer, Config: cfg}
		raw, err = td.DialContext(ctx, "tcp", host)
		isTLS = true
	default:
		raw, err = dialer.DialContext(ctx, "tcp", hostPort(u, "389"))
	}
	if err != nil {
		return nil, err
	}
	// The whole set-up (StartTLS, bind) must finish by the deadline; a
	// server that stops answering makes the reads fail.
	raw.SetDeadline(deadline)
	c := ldapc.NewConn(raw, isTLS)
	c.Start()
	c.SetTimeout(d.timeout())
	fail := func(err error) (*ldapc.Conn, error) {
		c.Close()
		return nil, err
	}
	if d.cfg.StartTLS && u != nil && u.Scheme == "ldap" {
		cfg, _ := d.tlsConfig(u.Hostname())
		if err := c.StartTLS(cfg); err != nil {
			return fail(fmt.Errorf("%s: StartTLS: %w", uri, err))
		}
	}
	if bind && d.cfg.DN != "" {
		if err := c.Bind(d.cfg.DN, d.cfg.DNPass); err != nil {
			if ldapc.IsErrorWithCode(err, ldapc.LDAPResultInvalidCredentials) {
				d.logger().Error("ldap: the service account's bind (dn, dnpass) was refused", "uri", uri, "dn", d.cfg.DN)
				return fail(fmt.Errorf("%w: ldap: %w: %v", auth.ErrTempFail, errServiceBind, err))
			}
			return fail(fmt.Errorf("%s: bind as %s: %w", uri, d.cfg.DN, err))
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
