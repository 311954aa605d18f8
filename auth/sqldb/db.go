package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/auth"
)

// Driver connects database/sql to one kind of server. The subpackages
// mysql, pgsql and sqlite each provide one, so that a program links only
// the database drivers it imports.
type Driver interface {
	// Open returns a connection pool for a Dovecot connect string. It
	// should not contact the server: a database that is down at start
	// gives temporary failures, not a refusal to start.
	Open(connect string) (*sql.DB, error)
	// Placeholder returns the bind marker of the n-th (1-based)
	// parameter: "?" or "$n".
	Placeholder(n int) string
}

// Defaults of Options fields.
const (
	// DefaultTimeout bounds one query, including the wait for a
	// connection from the pool and the connection set-up.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxConns bounds the open connections of a DB.
	DefaultMaxConns = 10
	// DefaultMaxUsers bounds what ListUsers returns.
	DefaultMaxUsers = 1_000_000
)

// Options tune a DB. The zero value is usable.
type Options struct {
	// Timeout bounds each query; zero means DefaultTimeout. A query
	// that runs out of time is a temporary failure (auth.ErrTempFail).
	Timeout time.Duration
	// MaxConns bounds the pool's open connections; zero means the
	// connect string's maxconns=N (Dovecot's setting), or else
	// DefaultMaxConns. Callers beyond it wait, within Timeout.
	MaxConns int
	// MaxUsers bounds ListUsers; zero means DefaultMaxUsers.
	MaxUsers int
	// DefaultFields are userdb fields used when user_query does not
	// return them (Dovecot's userdb default_fields); values may hold
	// variables.
	DefaultFields map[string]string
	// OverrideFields replace userdb fields whatever user_query returns
	// (Dovecot's userdb override_fields, e.g. uid=vmail gid=vmail
	// home=/var/mail/%n/); values may hold variables.
	OverrideFields map[string]string
	// Logger receives database errors and unusable stored passwords;
	// nil discards them.
	Logger *slog.Logger
}

// DB is a Dovecot SQL passdb and userdb over database/sql. It
// implements auth.PassDB, auth.CredentialLookup, auth.PassLookup,
// auth.UserDB and auth.UserLister, and is safe for concurrent use.
type DB struct {
	cfg     Config
	db      *sql.DB
	opts    Options
	log     *slog.Logger
	pass    *stmt
	user    *stmt
	iterate *stmt
}

// stmt is a compiled query, prepared on first use (and again after a
// failed preparation: the server may have been down).
type stmt struct {
	q    *query
	prep atomic.Pointer[sql.Stmt]
}

// Open builds a DB from a configuration and the driver for cfg.Driver.
// It does not contact the database.
func Open(cfg *Config, d Driver, o *Options) (*DB, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: %s: no driver for %q in this program", ErrConfig, cfg.File, cfg.Driver)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	x := &DB{cfg: *cfg}
	if o != nil {
		x.opts = *o
	}
	x.log = x.opts.Logger
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	var err error
	for _, s := range []struct {
		dst **stmt
		q   string
	}{{&x.pass, cfg.PasswordQuery}, {&x.user, cfg.UserQuery}, {&x.iterate, cfg.IterateQuery}} {
		if s.q == "" {
			continue
		}
		q, err := compile(s.q, d.Placeholder)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, cfg.File, err)
		}
		*s.dst = &stmt{q: q}
	}
	connect, maxconns, err := cutMaxConns(cfg.Connect)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, cfg.File, err)
	}
	x.db, err = d.Open(connect)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: connect: %v", ErrConfig, cfg.File, err)
	}
	n := x.opts.MaxConns
	if n <= 0 {
		n = maxconns
	}
	if n <= 0 {
		n = DefaultMaxConns
	}
	x.db.SetMaxOpenConns(n)
	x.db.SetMaxIdleConns(n)
	x.db.SetConnMaxIdleTime(5 * time.Minute)
	return x, nil
}

// Close closes the pool.
func (x *DB) Close() error { return x.db.Close() }

// SQL returns the underlying pool (for statistics: sql.DB.Stats).
func (x *DB) SQL() *sql.DB { return x.db }

func (x *DB) timeout() time.Duration {
	if x.opts.Timeout > 0 {
		return x.opts.Timeout
	}
	return DefaultTimeout
}

// tempFail logs err and returns it as auth.ErrTempFail; the database's
// own message stays in the log, off the wire.
func (x *DB) tempFail(what string, err error) error {
	x.log.Error("sql: "+what+" failed", "driver", x.cfg.Driver, "config", x.cfg.File, "error", err)
	return fmt.Errorf("%w: sql %s: %v", auth.ErrTempFail, what, err)
}

// prepared returns s's prepared statement, preparing it when needed.
// No lock is held while preparing: with the server down, each caller
// waits for its own deadline only.
func (x *DB) prepared(ctx context.Context, s *stmt) (*sql.Stmt, error) {
	if p := s.prep.Load(); p != nil {
		return p, nil
	}
	p, err := x.db.PrepareContext(ctx, s.q.text)
	if err != nil {
		return nil, err
	}
	if !s.prep.CompareAndSwap(nil, p) {
		p.Close()
		return s.prep.Load(), nil
	}
	return p, nil
}

// rows runs s with the variables v and calls each for every row (as a
// map of column name to value, NULL columns left out) until it returns
// false. Any database error, and running out of time, is ErrTempFail.
func (x *DB) rows(ctx context.Context, what string, s *stmt, v auth.Vars, each func(map[string]string) bool) error {
	args, err := s.q.values(v)
	if err != nil {
		return x.tempFail(what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, x.timeout())
	defer cancel()
	p, err := x.prepared(ctx, s)
	if err != nil {
		return x.tempFail(what, err)
	}
	rs, err := p.QueryContext(ctx, args...)
	if err != nil {
		return x.tempFail(what, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return x.tempFail(what, err)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return x.tempFail(what, err)
		}
		m := make(map[string]string, len(cols))
		for i, c := range cols {
			if vals[i].Valid {
				m[c] = vals[i].String
			}
		}
		if !each(m) {
			return nil
		}
	}
	if err := rs.Err(); err != nil {
		return x.tempFail(what, err)
	}
	return nil
}

// one runs s and returns its only row: ErrUnknownUser for none,
// ErrTempFail for more than one (Dovecot refuses ambiguous results).
func (x *DB) one(ctx context.Context, what string, s *stmt, v auth.Vars) (map[string]string, error) {
	var row map[string]string
	n := 0
	err := x.rows(ctx, what, s, v, func(m map[string]string) bool {
		n++
		row = m
		return n < 2
	})
	switch {
	case err != nil:
		return nil, err
	case n == 0:
		return nil, auth.ErrUnknownUser
	case n > 1:
		return nil, x.tempFail(what, errors.New("query returned multiple matches"))
	}
	return row, nil
}
