package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// openPassDBChain is "passdb = passwd-file:/etc/yubin/passwd,
// sql:/etc/dovecot/dovecot-sql.conf.ext" (or ldap:, pam): several passdbs asked in
// order, as Dovecot's several passdb blocks (auth.PassDBChain). Put the
// passwd-file first: its users then log in without waiting for a
// database that may hang.
func (u *users) openPassDBChain(c *config.Config, cache authCache, log *slog.Logger) error {
	var chain auth.PassDBChain
	for _, part := range strings.Split(c.Get("passdb"), ",") {
		driver, opts, words := driverArgs(strings.TrimSpace(part))
		switch driver {
		case "passwd-file":
			if len(words) != 1 || u.passwd != nil {
				return fmt.Errorf("passdb = %s: one passwd-file:[scheme=X] PATH at most", c.Get("passdb"))
			}
			u.passwd = &auth.PasswdFile{Path: words[0], DefaultScheme: opts["scheme"], Logger: log,
				DefaultFields: map[string]string{"mail": mailLocationOf(c)}}
			if err := u.passwd.Reload(); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("passdb: %w", err)
			}
			chain = append(chain, u.passwd)
		case "sql":
			db, err := sqlPassDB(c, words, cache, log)
			if err != nil {
				return err
			}
			chain = append(chain, db)
		case "pam":
			db, err := pamPassDB(c, opts, words, cache, u.pamWorker)
			if err != nil {
				return err
			}
			chain = append(chain, db)
		case "ldap":
			db, err := openLDAP("passdb = "+strings.TrimSpace(part), words, log)
			if err != nil {
				return err
			}
			chain = append(chain, cache.wrap(db))
		default:
			return fmt.Errorf("passdb = %s: %q: want passwd-file:, sql:, ldap: or pam", c.Get("passdb"), part)
		}
	}
	u.pass = chain
	return nil
}

// cacheEntryBytes is what one cached login is taken to cost, to turn
// Dovecot's auth_cache_size (bytes) into a number of entries.
const cacheEntryBytes = 512

// cacheEntries reads auth_cache_size ("0", "10M", "1024k", bytes
// without a suffix) as a number of cache entries; 0 disables the cache.
func cacheEntries(v string) int {
	n, err := cacheBytes(v)
	if err != nil || n <= 0 {
		return 0
	}
	return int(max(n/cacheEntryBytes, 1))
}

func cacheBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	if v != "" {
		switch v[len(v)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			v = v[:len(v)-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("want a size such as 0, 10M or 1024k")
	}
	return n * mult, nil
}

// checkCacheSize checks auth_cache_size.
func checkCacheSize(v string) error {
	_, err := cacheBytes(v)
	return err
}
