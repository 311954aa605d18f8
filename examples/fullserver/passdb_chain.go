package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
)

// passdbList splits "passdb = passwd-file:/a, ldap:/b" into its
// passdbs, asked in order as Dovecot's several passdb blocks are.
func passdbList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

// addPassDBs puts the passdbs after the first one behind it in a chain,
// and the auth cache (auth_cache_size) in front of them all.
func (u *users) addPassDBs(c *config.Config, rest []string, log *slog.Logger) error {
	if len(rest) > 0 {
		chain := passChain{u.pass}
		for _, spec := range rest {
			driver, opts, words := driverArgs(spec)
			switch driver {
			case "passwd-file":
				if len(words) != 1 {
					return fmt.Errorf("passdb = %s: want passwd-file:[scheme=X] PATH", spec)
				}
				chain = append(chain, &auth.PasswdFile{Path: words[0], DefaultScheme: opts["scheme"], Logger: log})
			case "ldap":
				db, err := openLDAP("passdb = "+spec, words, log)
				if err != nil {
					return err
				}
				chain = append(chain, db)
			default:
				return fmt.Errorf("passdb = %s: only passwd-file and ldap may follow the first passdb", spec)
			}
		}
		u.pass = chain
	}
	if n := cacheEntries(c.Get("auth_cache_size")); n > 0 {
		u.pass = &auth.Cache{PassDB: u.pass, Size: n,
			TTL: c.Duration("auth_cache_ttl"), NegativeTTL: c.Duration("auth_cache_negative_ttl")}
	}
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

// passChain asks passdbs in order, as Dovecot does with several passdb
// blocks and its defaults (result_success = return-ok, result_failure
// and result_internalfail = continue): the first success wins; when none
// succeeds, a temporary failure of any of them makes the whole a
// temporary failure, then a wrong password is a failure, and otherwise
// the user is unknown. A passdb that does not answer (a directory that
// hangs) delays only the logins that reach it.
type passChain []auth.PassDB

// Authenticate implements auth.PassDB.
func (pc passChain) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	var temp, failed error
	for _, db := range pc {
		id, err := db.Authenticate(ctx, user, password)
		switch {
		case err == nil:
			return id, nil
		case errors.Is(err, auth.ErrUnknownUser):
		case errors.Is(err, auth.ErrAuthFailed):
			failed = err
		default:
			if temp == nil {
				temp = err
			}
		}
	}
	switch {
	case temp != nil:
		return nil, temp
	case failed != nil:
		return nil, failed
	}
	return nil, auth.ErrUnknownUser
}

// LookupCredentials implements auth.CredentialLookup: the answer of the
// first passdb that knows the user (credentials, or
// auth.ErrUnsupportedScheme when its hash cannot give them); later
// passdbs are not asked, so a user of the passwd-file never waits for a
// directory that hangs.
func (pc passChain) LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error) {
	var temp error
	for _, db := range pc {
		cl, ok := db.(auth.CredentialLookup)
		if !ok {
			continue
		}
		cred, err := cl.LookupCredentials(ctx, user, scheme)
		switch {
		case err == nil || errors.Is(err, auth.ErrUnsupportedScheme) || errors.Is(err, auth.ErrMalformedHash):
			return cred, err
		case errors.Is(err, auth.ErrUnknownUser):
		default:
			if temp == nil {
				temp = err
			}
		}
	}
	if temp != nil {
		return nil, temp
	}
	return nil, auth.ErrUnknownUser
}
