package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
)

// Authenticate implements auth.PassDB. With auth_bind = yes the password
// is checked by binding as the user: to the DN auth_bind_userdn names
// (no search), or to the DN pass_filter finds. Otherwise the password
// comes from the entry (pass_attrs' "password" field) and is verified
// here. A directory that does not answer gives auth.ErrTempFail, never
// auth.ErrAuthFailed.
func (d *DB) Authenticate(ctx context.Context, user, password string) (*auth.Identity, error) {
	if !validName(user) {
		return nil, auth.ErrUnknownUser
	}
	// An empty password makes a simple bind an unauthenticated one,
	// which succeeds (RFC 4513 5.1.2): never send one.
	if password == "" || strings.IndexByte(password, 0) >= 0 {
		return nil, auth.ErrAuthFailed
	}
	if d.cfg.AuthBind && d.cfg.AuthBindUserDN != "" {
		dn, err := d.userDNT.Expand(vars(ctx, user), ldapc.EscapeDN)
		if err != nil {
			return nil, fmt.Errorf("%w: ldap: auth_bind_userdn: %v", auth.ErrTempFail, err)
		}
		if err := d.bindAs(ctx, dn, password); err != nil {
			return nil, err
		}
		return &auth.Identity{User: user, Fields: map[string]string{}}, nil
	}
	e, v, err := d.searchOne(ctx, user, d.passF, d.passReq)
	if err != nil {
		return nil, err
	}
	f, err := fields(d.passAttrs, e, v)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: pass_attrs: %v", auth.ErrTempFail, err)
	}
	if d.cfg.AuthBind {
		if err := d.bindAs(ctx, e.DN, password); err != nil {
			return nil, err
		}
	} else {
		stored, ok := f["password"]
		if !ok || stored == "" {
			if _, np := f["nopassword"]; !np {
				return nil, auth.ErrAuthFailed
			}
		} else {
			good, err := auth.VerifyWith(stored, password, auth.VerifyOptions{DefaultScheme: d.cfg.DefaultPassScheme, User: user})
			if err != nil {
				d.logger().Error("ldap: unusable password in the directory", "user", user, "dn", e.DN, "error", err)
				return nil, auth.ErrAuthFailed
			}
			if !good {
				return nil, auth.ErrAuthFailed
			}
		}
	}
	return identity(user, f), nil
}

// identity makes the passdb result from pass_attrs fields: "user"
// renames the user, "password" and "nopassword" are not returned.
func identity(user string, f map[string]string) *auth.Identity {
	id := &auth.Identity{User: user, Fields: map[string]string{}}
	for k, v := range f {
		switch k {
		case "password", "nopassword":
		case "user":
			if v != "" {
				id.User = v
			}
		default:
			id.Fields[k] = v
		}
	}
	return id
}

// bindAs checks password by a simple bind as dn on the auth-bind pool.
func (d *DB) bindAs(ctx context.Context, dn, password string) error {
	err := d.do(ctx, true, func(c *conn) error { return c.Bind(dn, password) })
	switch {
	case err == nil:
		return nil
	case ldapc.IsErrorWithCode(err, ldapc.LDAPResultInvalidCredentials),
		ldapc.IsErrorWithCode(err, ldapc.LDAPResultInvalidDNSyntax),
		ldapc.IsErrorWithCode(err, ldapc.LDAPResultNoSuchObject),
		ldapc.IsErrorWithCode(err, ldapc.LDAPResultInappropriateAuthentication):
		return auth.ErrAuthFailed
	case errors.Is(err, auth.ErrTempFail):
		return err
	}
	d.logger().Warn("ldap: auth bind failed", "dn", dn, "error", err)
	return fmt.Errorf("%w: ldap: bind: %v", auth.ErrTempFail, err)
}

// LookupCredentials implements auth.CredentialLookup when passwords come
// from the directory. With auth binds there are none to give: it
// returns auth.ErrUnsupportedScheme for a user that exists (so that a
// static userdb without allow_all_users still learns which users
// exist) and auth.ErrUnknownUser for one that does not.
func (d *DB) LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error) {
	if d.cfg.AuthBind {
		if err := d.exists(ctx, user); err != nil {
			return nil, err
		}
		return nil, auth.ErrUnsupportedScheme
	}
	e, v, err := d.searchOne(ctx, user, d.passF, d.passReq)
	if err != nil {
		return nil, err
	}
	f, err := fields(d.passAttrs, e, v)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: pass_attrs: %v", auth.ErrTempFail, err)
	}
	return auth.Credentials(f["password"], d.cfg.DefaultPassScheme, user, scheme)
}

// LookupPass implements auth.PassLookup: the pass_attrs fields of user
// without the password. With auth_bind_userdn there are no fields: the
// entry the template names must exist.
func (d *DB) LookupPass(ctx context.Context, user string) (*auth.Identity, error) {
	if !validName(user) {
		return nil, auth.ErrUnknownUser
	}
	if d.cfg.AuthBind && d.cfg.AuthBindUserDN != "" {
		if err := d.exists(ctx, user); err != nil {
			return nil, err
		}
		return &auth.Identity{User: user, Fields: map[string]string{}}, nil
	}
	e, v, err := d.searchOne(ctx, user, d.passF, d.passReq)
	if err != nil {
		return nil, err
	}
	f, err := fields(d.passAttrs, e, v)
	if err != nil {
		return nil, fmt.Errorf("%w: ldap: pass_attrs: %v", auth.ErrTempFail, err)
	}
	return identity(user, f), nil
}

// exists checks that user has an entry: the one pass_filter finds, or,
// with auth_bind_userdn, the entry the template names (a base search as
// the service account or anonymously; an entry the directory does not
// show counts as missing).
func (d *DB) exists(ctx context.Context, user string) error {
	if !validName(user) {
		return auth.ErrUnknownUser
	}
	if d.cfg.AuthBindUserDN == "" {
		_, _, err := d.searchOne(ctx, user, d.passF, nil)
		return err
	}
	dn, err := d.userDNT.Expand(vars(ctx, user), ldapc.EscapeDN)
	if err != nil {
		return fmt.Errorf("%w: ldap: auth_bind_userdn: %v", auth.ErrTempFail, err)
	}
	req := searchReq{base: dn, scope: ldapc.ScopeBaseObject, deref: d.deref, sizeLimit: 1, timeLimit: int(d.timeout() / time.Second),
		filter: d.anyFilter, attrs: []string{"1.1"}}
	var entries []*ldapc.Entry
	err = d.do(ctx, false, func(c *conn) error {
		var err error
		entries, err = c.Search(&req, 1)
		return err
	})
	switch {
	case ldapc.IsErrorWithCode(err, ldapc.LDAPResultNoSuchObject), ldapc.IsErrorWithCode(err, ldapc.LDAPResultInvalidDNSyntax):
		return auth.ErrUnknownUser
	case err != nil && errors.Is(err, auth.ErrTempFail):
		return err
	case err != nil:
		return fmt.Errorf("%w: ldap: %v", auth.ErrTempFail, err)
	case len(entries) == 0:
		return auth.ErrUnknownUser
	}
	return nil
}
