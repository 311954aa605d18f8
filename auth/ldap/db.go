package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/ldapconn"
)

// Defaults of DB's limits.
const (
	// DefaultTimeout bounds each directory operation: dialling with
	// StartTLS and the service bind, one search, one auth bind, and the
	// wait for a free connection.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxConns bounds the connections of each of the two pools
	// (searches as the service account; auth binds).
	DefaultMaxConns = 8
	// DefaultMaxIterate bounds the users ListUsers returns.
	DefaultMaxIterate = 100000
	// maxName bounds user names sent to the directory.
	maxName = 512
)

// DB is a Dovecot LDAP passdb and userdb over one directory. It
// implements auth.PassDB, auth.CredentialLookup (when passwords are read
// from the directory, not checked by auth binds), auth.PassLookup,
// auth.UserDB and auth.UserLister. It is safe for concurrent use. Set the
// exported fields before the first lookup.
type DB struct {
	// Timeout bounds every directory operation; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxConns bounds each connection pool; zero means DefaultMaxConns.
	MaxConns int
	// MaxIterate bounds ListUsers; zero means DefaultMaxIterate.
	MaxIterate int
	// DefaultFields are userdb fields used when the directory does not
	// set them; OverrideFields replace what it sets (Dovecot's userdb
	// default_fields and override_fields, e.g. "uid": "vmail", "home":
	// "/var/mail/%n/"). Values may hold variables.
	DefaultFields, OverrideFields map[string]string
	// Logger receives directory errors; nil discards them.
	Logger *slog.Logger

	cfg                  *Config
	passAttrs, userAttrs []attrMap
	iterAttrs            []attrMap
	passReq, userReq     []string // the attributes searches ask for
	roots                *x509.CertPool
	cert                 *tls.Certificate
	once                 sync.Once
	search, binds        *pool
	scope, deref         int
	// Templates parsed and filters compiled once, not at every login.
	passF, userF *filterTmpl
	baseT        *auth.Template // nil: base does not parse (searches fail)
	userDNT      *auth.Template // auth_bind_userdn, or nil
	anyFilter    []byte         // (objectClass=*)
}

// New checks cfg and returns a DB using it. No connection is made until
// the first lookup.
func New(cfg *Config) (*DB, error) {
	d := &DB{cfg: cfg}
	var err error
	if d.passAttrs, err = parseAttrs(cfg.PassAttrs); err != nil {
		return nil, fmt.Errorf("pass_attrs: %w", err)
	}
	if d.userAttrs, err = parseAttrs(cfg.UserAttrs); err != nil {
		return nil, fmt.Errorf("user_attrs: %w", err)
	}
	if d.iterAttrs, err = parseAttrs(cfg.IterateAttrs); err != nil {
		return nil, fmt.Errorf("iterate_attrs: %w", err)
	}
	d.passReq, d.userReq = requested(d.passAttrs), requested(d.userAttrs)
	if cfg.AuthBind {
		// The bind checks the password: never fetch the stored one.
		var keep []attrMap
		for _, m := range d.passAttrs {
			if m.field != "password" {
				keep = append(keep, m)
			}
		}
		d.passReq = requested(keep)
	}
	for name, f := range map[string]string{"pass_filter": cfg.PassFilter, "user_filter": cfg.UserFilter, "iterate_filter": cfg.IterateFilter} {
		// The filters must compile with placeholders in the variables.
		x, err := auth.Expand(f, auth.Vars{"user": "x@y"}, ldapc.EscapeFilter)
		if err == nil {
			_, err = ldapc.CompileFilter(x)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", name, f, err)
		}
	}
	if cfg.AuthBindUserDN != "" {
		if _, err := auth.Expand(cfg.AuthBindUserDN, auth.Vars{"user": "x@y"}, nil); err != nil {
			return nil, fmt.Errorf("auth_bind_userdn: %w", err)
		}
		if d.userDNT, err = auth.ParseTemplate(cfg.AuthBindUserDN); err != nil {
			return nil, fmt.Errorf("auth_bind_userdn: %w", err)
		}
	}
	if d.passF, err = newFilterTmpl(cfg.PassFilter); err != nil {
		return nil, fmt.Errorf("pass_filter %q: %v", cfg.PassFilter, err)
	}
	if d.userF, err = newFilterTmpl(cfg.UserFilter); err != nil {
		return nil, fmt.Errorf("user_filter %q: %v", cfg.UserFilter, err)
	}
	d.baseT, _ = auth.ParseTemplate(cfg.Base)
	if d.anyFilter, err = compileFilter("(objectClass=*)"); err != nil {
		return nil, err
	}
	d.scope = map[string]int{"base": ldapc.ScopeBaseObject, "onelevel": ldapc.ScopeSingleLevel, "subtree": ldapc.ScopeWholeSubtree, "": ldapc.ScopeWholeSubtree}[cfg.Scope]
	d.deref = map[string]int{"never": ldapc.NeverDerefAliases, "searching": ldapc.DerefInSearching, "finding": ldapc.DerefFindingBaseObj, "always": ldapc.DerefAlways, "": ldapc.NeverDerefAliases}[cfg.Deref]
	if cfg.TLSCACertFile != "" {
		pem, err := os.ReadFile(cfg.TLSCACertFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_cert_file: %w", err)
		}
		d.roots = x509.NewCertPool()
		if !d.roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_cert_file %s: no PEM certificate", cfg.TLSCACertFile)
		}
	}
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls_cert_file/tls_key_file: %w", err)
		}
		d.cert = &c
	}
	return d, nil
}

// Open reads a dovecot-ldap.conf.ext file and returns a DB using it.
func Open(path string) (*DB, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// Config returns the DB's settings.
func (d *DB) Config() *Config { return d.cfg }

func (d *DB) init() {
	d.once.Do(func() {
		n := d.MaxConns
		if n <= 0 {
			n = DefaultMaxConns
		}
		dialer := func(bind bool) *ldapconn.Dialer {
			x := &ldapconn.Dialer{URIs: d.cfg.URIs, StartTLS: d.cfg.StartTLS, TLS: d.tlsConfig, Timeout: d.timeout()}
			if bind && d.cfg.SASLBind {
				x.SASLExternal = true
			} else if bind {
				x.BindDN, x.BindPW = d.cfg.DN, d.cfg.DNPass
			}
			return x
		}
		d.search = newPool(dialer(true), d.timeout(), n)
		d.binds = newPool(dialer(false), d.timeout(), n)
	})
}

func (d *DB) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return DefaultTimeout
}

func (d *DB) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// tlsConfig is the client TLS settings (tls_* settings) for host.
func (d *DB) tlsConfig(host string) *tls.Config {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, RootCAs: d.roots}
	switch d.cfg.TLSRequireCert {
	case "never", "allow":
		cfg.InsecureSkipVerify = true
	}
	if d.cert != nil {
		cfg.Certificates = []tls.Certificate{*d.cert}
	}
	return cfg
}

// Close closes the idle connections. The DB stays usable.
func (d *DB) Close() error {
	d.init()
	d.search.close()
	d.binds.close()
	return nil
}

// validName refuses user names that no directory should see: empty,
// overlong, not UTF-8, holding NUL or control characters, or with
// spaces around (LDAP matching ignores them: " alice" would find alice
// and yet be another name).
func validName(user string) bool {
	if user == "" || len(user) > maxName || !utf8.ValidString(user) || strings.TrimSpace(user) != user {
		return false
	}
	for _, r := range user {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// vars returns the %-variables of user on the connection in ctx.
func vars(ctx context.Context, user string) auth.Vars {
	v := auth.Vars{"user": user}
	if c := auth.ConnInfoFrom(ctx); c != nil {
		v["service"] = c.Service
		if h, ok := host(c.RemoteAddr); ok {
			v["rip"] = h
		}
		if h, ok := host(c.LocalAddr); ok {
			v["lip"] = h
		}
	}
	return v
}

// host is the host part of a's text, as net.SplitHostPort gives it.
func host(a net.Addr) (string, bool) {
	if t, ok := a.(*net.TCPAddr); ok && t != nil && t.IP != nil {
		if t.Zone != "" {
			return t.IP.String() + "%" + t.Zone, true
		}
		return t.IP.String(), true
	}
	if a == nil {
		return "", false
	}
	h, _, err := net.SplitHostPort(a.String())
	return h, err == nil
}

// errManyEntries is the outcome of a search that found more than one
// entry: an error in Dovecot too (the filter or the directory is wrong).
var errManyEntries = errors.New("ldap: search returned more than one entry")

// do runs op on a connection of the search pool, or of the auth-bind
// pool when authBind; a directory that cannot be reached or does not
// answer in time is auth.ErrTempFail.
func (d *DB) do(ctx context.Context, authBind bool, op func(*conn) error) error {
	d.init()
	p := d.search
	if authBind {
		p = d.binds
	}
	err := p.do(ctx, op)
	if err == nil {
		return nil
	}
	if errors.Is(err, ldapconn.ErrBindRefused) {
		d.logger().Error("ldap: the service account's bind (dn, dnpass) was refused", "dn", d.cfg.DN, "error", err)
	}
	if errors.Is(err, ldapconn.ErrUnavailable) {
		return fmt.Errorf("%w: ldap: %v", auth.ErrTempFail, err)
	}
	return err
}

// base expands the search base for v.
func (d *DB) base(v auth.Vars) (string, error) {
	if d.baseT == nil {
		return auth.Expand(d.cfg.Base, v, ldapc.EscapeDN)
	}
	return d.baseT.Expand(v, ldapc.EscapeDN)
}

// searchOne finds the one entry filter matches for user. attrs are the
// attributes to ask for (nil for none). It returns the entry with the
// variables the search was made with (vars(ctx, user)), for the
// caller's templates.
func (d *DB) searchOne(ctx context.Context, user string, filter *filterTmpl, attrs []string) (*ldapc.Entry, auth.Vars, error) {
	if !validName(user) {
		return nil, nil, auth.ErrUnknownUser
	}
	v := vars(ctx, user)
	e, err := d.searchWith(ctx, user, v, filter, attrs)
	return e, v, err
}

// searchWith is searchOne with the variables v.
func (d *DB) searchWith(ctx context.Context, user string, v auth.Vars, filter *filterTmpl, attrs []string) (*ldapc.Entry, error) {
	base, err := d.base(v)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: base: %v", auth.ErrTempFail, err)
	}
	if attrs == nil {
		attrs = []string{"1.1"} // RFC 4511 4.5.1.8: no attributes
	}
	f, err := filter.appendTo(make([]byte, 0, 128), v)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: filter: %v", auth.ErrTempFail, err)
	}
	req := searchReq{base: base, scope: d.scope, deref: d.deref, sizeLimit: 2, timeLimit: int(d.timeout() / time.Second), filter: f, attrs: attrs}
	var entries []*ldapc.Entry
	err = d.do(ctx, false, func(c *conn) error {
		var err error
		entries, err = c.Search(&req, 2)
		return err
	})
	switch {
	case ldapc.IsErrorWithCode(err, ldapc.LDAPResultSizeLimitExceeded) || (err == nil && len(entries) > 1):
		f, _ := filter.text(v)
		d.logger().Error("ldap: search returned more than one entry", "user", user, "filter", f)
		return nil, fmt.Errorf("%w: %w", auth.ErrTempFail, errManyEntries)
	case ldapc.IsErrorWithCode(err, ldapc.LDAPResultNoSuchObject):
		return nil, auth.ErrUnknownUser
	case err != nil:
		d.logger().Warn("ldap: search failed", "user", user, "error", err)
		if errors.Is(err, auth.ErrTempFail) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: ldap: %v", auth.ErrTempFail, err)
	case len(entries) == 0:
		return nil, auth.ErrUnknownUser
	}
	return entries[0], nil
}
