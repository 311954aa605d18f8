package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/sqldb"
	"github.com/yubinmail/yubin/auth/sqldb/mysql"
	"github.com/yubinmail/yubin/auth/sqldb/pgsql"
	"github.com/yubinmail/yubin/auth/sqldb/sqlite"
	"github.com/yubinmail/yubin/config"
)

// sqlDrivers are the database drivers this program links, by Dovecot's
// driver names.
var sqlDrivers = map[string]sqldb.Driver{
	"mysql":  mysql.Driver,
	"pgsql":  pgsql.Driver,
	"sqlite": sqlite.Driver,
}

// sqlDB is an opened dovecot-sql.conf.ext.
type sqlDB struct {
	path string
	db   *sqldb.DB
}

// openSQL opens "sql:/path/dovecot-sql.conf.ext" (Dovecot's
// "driver = sql, args = /path") with its own connection pool. opts are
// the userdb's fields (override_fields, as seed 003 writes them in the
// userdb block: uid=vmail gid=vmail home=/var/mail/%n/), defaults the
// userdb fields a row may leave out (mail).
func openSQL(setting string, words []string, override, defaults map[string]string, log *slog.Logger) (*sqlDB, error) {
	if len(words) != 1 {
		return nil, fmt.Errorf("%s: want sql:/path/dovecot-sql.conf.ext", setting)
	}
	b, err := loadAuthConf(setting, words[0], "SQL", log)
	if err != nil {
		return nil, err
	}
	cfg, err := sqldb.ParseConfig(bytes.NewReader(b), words[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	if fi, err := os.Stat(words[0]); err == nil && fi.Mode().Perm()&0o004 != 0 && log != nil {
		log.Warn("the SQL configuration holds a database password and is world-readable", "file", words[0])
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := sqldb.Open(cfg, sqlDrivers[cfg.Driver], &sqldb.Options{
		OverrideFields: override, DefaultFields: defaults, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return &sqlDB{path: words[0], db: db}, nil
}

// sqlPassDB is "passdb = sql:/path": the database behind the auth cache
// (auth_cache_size entries, auth_cache_ttl, auth_cache_negative_ttl, as
// Dovecot's auth_cache; a size of 0 turns it off).
func sqlPassDB(c *config.Config, words []string, cache authCache, log *slog.Logger) (auth.PassDB, error) {
	s, err := openSQL("passdb = "+c.Get("passdb"), words, nil, nil, log)
	if err != nil {
		return nil, err
	}
	return cache.wrap(s.db), nil
}

// authCache is Dovecot's auth_cache_size (bytes, as entries of
// cacheEntryBytes),
// auth_cache_ttl and auth_cache_negative_ttl.
type authCache struct {
	size     int
	ttl, neg time.Duration
}

func authCacheOf(c *config.Config) authCache {
	a := authCache{size: cacheEntries(c.Get("auth_cache_size")), ttl: c.Duration("auth_cache_ttl"), neg: c.Duration("auth_cache_negative_ttl")}
	if a.neg == 0 {
		a.neg = -1 // configured as 0: no negative caching (auth.Cache's zero is its default)
	}
	return a
}

// wrap puts the auth cache in front of a passdb that is not a local
// file (SQL, LDAP, PAM); a size of 0 leaves it out.
func (a authCache) wrap(db auth.PassDB) auth.PassDB {
	if a.size <= 0 {
		return db
	}
	return &auth.Cache{PassDB: db, Size: a.size, TTL: a.ttl, NegativeTTL: a.neg}
}

// sqlUserDB is "userdb = sql:/path [field=value ...]": user_query, with
// the fields given as override_fields, in a pool of its own.
func sqlUserDB(c *config.Config, words []string, override, defaults map[string]string, log *slog.Logger) (auth.UserDB, error) {
	s, err := openSQL("userdb = "+c.Get("userdb"), words, override, defaults, log)
	if err != nil {
		return nil, err
	}
	return s.db, nil
}
