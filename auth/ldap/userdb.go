package ldap

import (
	"context"
	"fmt"
	"strings"

	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
)

// LookupUser implements auth.UserDB: the entry user_filter finds, its
// user_attrs mapped to userdb fields (home, uid, gid, mail...), under
// DefaultFields and OverrideFields.
func (d *DB) LookupUser(ctx context.Context, user string) (*auth.User, error) {
	e, v, err := d.searchOne(ctx, user, d.userF, d.userReq)
	if err != nil {
		return nil, err
	}
	got, err := fields(d.userAttrs, e, v)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: user_attrs: %v", auth.ErrTempFail, err)
	}
	out := map[string]string{}
	expand := func(m map[string]string) error {
		for k, t := range m {
			x, err := auth.Expand(t, v, nil)
			if err != nil {
				return fmt.Errorf("%w: ldap: userdb field %s: %v", auth.ErrTempFail, k, err)
			}
			out[k] = x
		}
		return nil
	}
	if err := expand(d.DefaultFields); err != nil {
		return nil, err
	}
	name := user
	for k, val := range got {
		if k == "user" {
			name = val
			continue
		}
		out[strings.TrimPrefix(k, "userdb_")] = val
	}
	if err := expand(d.OverrideFields); err != nil {
		return nil, err
	}
	return auth.NewUser(name, out)
}

// ListUsers implements auth.UserLister: the "user" field of the entries
// iterate_filter finds (iterate_attrs), at most MaxIterate of them.
func (d *DB) ListUsers(ctx context.Context) ([]string, error) {
	f, err := auth.Expand(d.cfg.IterateFilter, vars(ctx, ""), ldapc.EscapeFilter)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: iterate_filter: %v", auth.ErrTempFail, err)
	}
	max := d.MaxIterate
	if max <= 0 {
		max = DefaultMaxIterate
	}
	cf, err := compileFilter(f)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: iterate_filter: %v", auth.ErrTempFail, err)
	}
	req := searchReq{base: d.cfg.Base, scope: d.scope, deref: d.deref, sizeLimit: max, filter: cf, attrs: requested(d.iterAttrs),
		perEntry: d.timeout()} // as go-ldap's timeout, which bounded each wait, not the whole listing
	var entries []*ldapc.Entry
	err = d.do(ctx, false, func(c *conn) error {
		var err error
		entries, err = c.Search(&req, max)
		return err
	})
	if err != nil && !ldapc.IsErrorWithCode(err, ldapc.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("%w: ldap: iterate: %v", auth.ErrTempFail, err)
	}
	var out []string
	for _, e := range entries {
		m, err := fields(d.iterAttrs, e, vars(ctx, ""))
		if err != nil {
			return nil, fmt.Errorf("%w: ldap: iterate_attrs: %v", auth.ErrTempFail, err)
		}
		if u := m["user"]; u != "" {
			out = append(out, u)
		}
	}
	return out, nil
}
