package sqldb

import (
	"context"
	"errors"
	"strings"

	"github.com/yubinmail/yubin/auth"
)

var errNoQuery = errors.New("query not configured")

func (x *DB) scheme() string {
	if x.cfg.DefaultPassScheme != "" {
		return x.cfg.DefaultPassScheme
	}
	return DefaultPassScheme
}

// passRow runs password_query for user; password, when not nil, is %w.
func (x *DB) passRow(ctx context.Context, user string, password *string) (map[string]string, error) {
	if x.pass == nil {
		return nil, x.tempFail("password_query", errNoQuery)
	}
	if strings.IndexByte(user, 0) >= 0 {
		return nil, auth.ErrUnknownUser // no database takes NUL in text
	}
	v := varsFor(ctx, user)
	if password != nil {
		v["password"] = *password
	}
	return x.one(ctx, "password_query", x.pass, v)
}

// identity turns a password_query row into the login's identity: the
// "user" column (or "username" and "domain") renames the user, and the
// other columns but password, nopassword and allow_nets are extra
// fields ("userdb_*" ones are the prefetched userdb).
func identity(user string, row map[string]string) *auth.Identity {
	id := &auth.Identity{User: user, Fields: map[string]string{}}
	if u := row["user"]; u != "" {
		id.User = u
	} else if n, d := row["username"], row["domain"]; n != "" || d != "" {
		// As Dovecot: username replaces the part before "@" and keeps
		// the domain, domain replaces the domain.
		local, dom := user, ""
		if i := strings.LastIndexByte(user, '@'); i >= 0 {
			local, dom = user[:i], user[i+1:]
		}
		if n != "" {
			if strings.Contains(n, "@") {
				local, dom, _ = strings.Cut(n, "@")
			} else {
				local = n
			}
		}
		if d != "" {
			dom = d
		}
		id.User = local
		if dom != "" {
			id.User += "@" + dom
		}
	}
	for k, v := range row {
		switch k {
		case "user", "username", "domain", "password", "password_noscheme", "nopassword", "allow_nets":
		default:
			id.Fields[k] = v
		}
	}
	return id
}

func storedPassword(row map[string]string) string {
	if p, ok := row["password"]; ok {
		return p
	}
	return row["password_noscheme"]
}

// Authenticate implements auth.PassDB: password_query, then the stored
// password checked with default_pass_scheme for bare hashes. A NULL or
// empty password fails unless the row has a nopassword column; an
// allow_nets column restricts the client's address.
func (x *DB) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	row, err := x.passRow(ctx, user, &password)
	if err != nil {
		return nil, err
	}
	if nets, ok := row["allow_nets"]; ok && !allowedNet(ctx, nets) {
		return nil, auth.ErrAuthFailed
	}
	if _, ok := row["nopassword"]; !ok {
		stored := storedPassword(row)
		if stored == "" {
			return nil, auth.ErrAuthFailed
		}
		if _, ok := row["password_noscheme"]; ok && strings.HasPrefix(stored, "{") {
			stored = "{" + x.scheme() + "}" + stored
		}
		ok, err := auth.VerifyWith(stored, password, auth.VerifyOptions{DefaultScheme: x.scheme(), User: user})
		if err != nil {
			x.log.Error("sql: unusable stored password", "config", x.cfg.File, "user", user, "error", err)
			return nil, auth.ErrAuthFailed
		}
		if !ok {
			return nil, auth.ErrAuthFailed
		}
	}
	return identity(user, row), nil
}

// LookupCredentials implements auth.CredentialLookup (CRAM-MD5, SCRAM,
// APOP): the stored password converted to scheme where possible.
func (x *DB) LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error) {
	row, err := x.passRow(ctx, user, nil)
	if err != nil {
		return nil, err
	}
	return auth.Credentials(storedPassword(row), x.scheme(), user, scheme)
}

// LookupPass implements auth.PassLookup: the row's extra fields without
// checking a password.
func (x *DB) LookupPass(ctx context.Context, user string) (*auth.Identity, error) {
	row, err := x.passRow(ctx, user, nil)
	if err != nil {
		return nil, err
	}
	id := identity(user, row)
	for k := range id.Fields {
		if strings.HasPrefix(k, "userdb_") {
			delete(id.Fields, k)
		}
	}
	return id, nil
}
