package sqldb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/auth"
)

// LookupUser implements auth.UserDB with user_query: its columns are
// the userdb fields (home, uid, gid, mail, quota_rule, ...), under
// Options.DefaultFields and OverrideFields. Without a user_query, the
// userdb_* columns of password_query are used (Dovecot's prefetch).
func (x *DB) LookupUser(ctx context.Context, user string) (*auth.User, error) {
	if strings.IndexByte(user, 0) >= 0 {
		return nil, auth.ErrUnknownUser
	}
	v := varsFor(ctx, user)
	fields := map[string]string{}
	if err := expandInto(fields, x.opts.DefaultFields, v); err != nil {
		return nil, err
	}
	if x.user != nil {
		row, err := x.one(ctx, "user_query", x.user, v)
		if err != nil {
			return nil, err
		}
		for k, val := range row {
			fields[k] = val
		}
	} else {
		row, err := x.passRow(ctx, user, nil)
		if err != nil {
			return nil, err
		}
		for k, val := range identity(user, row).Fields {
			if name, ok := strings.CutPrefix(k, "userdb_"); ok {
				fields[name] = val
			}
		}
	}
	if h := fields["home"]; h != "" {
		v["home"] = h
	}
	if err := expandInto(fields, x.opts.OverrideFields, v); err != nil {
		return nil, err
	}
	name := user
	if u := fields["user"]; u != "" {
		name = u
	}
	delete(fields, "user")
	return auth.NewUser(name, fields)
}

func expandInto(dst, src map[string]string, v auth.Vars) error {
	for k, t := range src {
		x, err := auth.Expand(t, v, nil)
		if err != nil {
			return fmt.Errorf("%w: userdb field %s: %v", auth.ErrTempFail, k, err)
		}
		dst[k] = x
	}
	return nil
}

// ErrTooManyUsers is returned by ListUsers when iterate_query returns
// more than Options.MaxUsers rows.
var ErrTooManyUsers = errors.New("sqldb: iterate_query returned too many users")

// ListUsers implements auth.UserLister with iterate_query: each row's
// "user" column, or "username" and "domain", or else its first column.
func (x *DB) ListUsers(ctx context.Context) ([]string, error) {
	if x.iterate == nil {
		return nil, x.tempFail("iterate_query", errNoQuery)
	}
	limit := x.opts.MaxUsers
	if limit <= 0 {
		limit = DefaultMaxUsers
	}
	var out []string
	var tooMany bool
	err := x.rows(ctx, "iterate_query", x.iterate, auth.Vars{}, func(m map[string]string) bool {
		if len(out) >= limit {
			tooMany = true
			return false
		}
		u := m["user"]
		if u == "" {
			u = m["username"]
			if d := m["domain"]; u != "" && d != "" {
				u += "@" + d
			}
		}
		if u == "" && len(m) == 1 {
			for _, val := range m {
				u = val
			}
		}
		if u != "" {
			out = append(out, u)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if tooMany {
		return out, fmt.Errorf("%w (more than %d)", ErrTooManyUsers, limit)
	}
	return out, nil
}
