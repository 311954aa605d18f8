package auth

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"sync"
)

// NewUser builds a User from Dovecot userdb fields ("uid", "gid", "home",
// "mail", "quota_rule", any others). uid and gid may be numbers or system
// user/group names ("vmail"). quota_rule is read in Dovecot's form,
// "*:storage=1G" (storage in kilobytes without a suffix; "bytes=" in
// bytes) and "*:messages=N"; "quota_rule2" is read too.
func NewUser(name string, fields map[string]string) (*User, error) {
	u := &User{Name: name, UID: -1, GID: -1, Fields: fields,
		Home: fields["home"], MailLocation: fields["mail"]}
	if s := fields["uid"]; s != "" {
		id, err := resolveID(s, false)
		if err != nil {
			return nil, err
		}
		u.UID = id
	}
	if s := fields["gid"]; s != "" {
		id, err := resolveID(s, true)
		if err != nil {
			return nil, err
		}
		u.GID = id
	}
	for _, k := range []string{"quota_rule", "quota_rule2"} {
		parseQuotaRule(fields[k], u)
	}
	return u, nil
}

// resolveID turns a numeric id or a system user/group name into a number.
func resolveID(s string, group bool) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	var id string
	if group {
		g, err := user.LookupGroup(s)
		if err != nil {
			return -1, fmt.Errorf("%w: unknown group %q", ErrTempFail, s)
		}
		id = g.Gid
	} else {
		pw, err := user.Lookup(s)
		if err != nil {
			return -1, fmt.Errorf("%w: unknown system user %q", ErrTempFail, s)
		}
		id = pw.Uid
	}
	return strconv.Atoi(id)
}

// parseQuotaRule reads "*:storage=1G:messages=100"-style rules for the
// default mailbox ("*") into u.
func parseQuotaRule(rule string, u *User) {
	box, rest, ok := strings.Cut(rule, ":")
	if !ok || box != "*" {
		return
	}
	for _, kv := range strings.Split(rest, ":") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "storage":
			u.QuotaBytes = parseSize(v, 1024)
		case "bytes":
			u.QuotaBytes = parseSize(v, 1)
		case "messages":
			n, _ := strconv.ParseInt(v, 10, 64)
			u.QuotaMessages = max(n, 0)
		}
	}
}

// parseSize reads "10M", "1G", "512k", "100b" or a number in unit bytes.
func parseSize(s string, unit int64) int64 {
	if s == "" {
		return 0
	}
	mult := unit
	switch s[len(s)-1] {
	case 'b', 'B':
		mult = 1
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	if mult != unit || s[len(s)-1] == 'b' || s[len(s)-1] == 'B' {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0
	}
	return n * mult
}

// StaticUserDB gives every user the same fields, with variables expanded
// per user (Dovecot's "userdb static", e.g. uid=vmail gid=vmail
// home=/var/mail/%d/%n). The templates are parsed at the first lookup,
// once: Fields must not change after that.
type StaticUserDB struct {
	// Fields are the userdb fields; values may hold variables.
	Fields map[string]string
	// AllowAllUsers answers for any user name. Without it the user must
	// exist in PassDB, which must then implement CredentialLookup
	// (Dovecot's allow_all_users=no does a passdb lookup).
	AllowAllUsers bool
	// PassDB is consulted when AllowAllUsers is false.
	PassDB PassDB

	once   sync.Once
	fields []staticField
	err    error // a template's syntax error, returned by every lookup
}

// staticField is one of StaticUserDB.Fields, parsed.
type staticField struct {
	key, lit string    // lit: the value when it has no variable
	tmpl     *Template // else its template
}

// parse parses s.Fields into s.fields (once).
func (s *StaticUserDB) parse() {
	s.fields = make([]staticField, 0, len(s.Fields))
	for k, t := range s.Fields {
		f := staticField{key: k, lit: t}
		if strings.Contains(t, "%") {
			var err error
			if f.tmpl, err = ParseTemplate(t); err != nil {
				s.err = err
				return
			}
		}
		s.fields = append(s.fields, f)
	}
}

// LookupUser implements UserDB.
func (s *StaticUserDB) LookupUser(ctx context.Context, name string) (*User, error) {
	if !s.AllowAllUsers {
		cl, ok := s.PassDB.(CredentialLookup)
		if !ok {
			return nil, fmt.Errorf("%w: static userdb without allow_all_users needs a passdb with credential lookup", ErrTempFail)
		}
		_, err := cl.LookupCredentials(ctx, name, "PLAIN")
		if err != nil && !errors.Is(err, ErrUnsupportedScheme) && !errors.Is(err, ErrMalformedHash) {
			return nil, err
		}
	}
	s.once.Do(s.parse)
	if s.err != nil {
		return nil, s.err
	}
	// The connection's variables are made only when a template names
	// one: most use the user's name alone (%u, %n, %d).
	l := connLookup{c: ConnInfoFrom(ctx), user: name}
	fields := make(map[string]string, len(s.fields))
	for _, f := range s.fields {
		x := f.lit
		if f.tmpl != nil {
			var err error
			if x, err = f.tmpl.expand(l.get, nil); err != nil {
				return nil, err
			}
		}
		fields[f.key] = x
	}
	return NewUser(name, fields)
}

// SystemUserDB looks users up in the system's user database (Dovecot's
// "userdb passwd") through os/user: home, uid and gid. Fields are added
// to every user (e.g. "mail": "maildir:~/Maildir").
type SystemUserDB struct {
	Fields map[string]string
}

// LookupUser implements UserDB.
func (s *SystemUserDB) LookupUser(ctx context.Context, name string) (*User, error) {
	if name == "" || strings.ContainsAny(name, "/:\x00") {
		return nil, ErrUnknownUser
	}
	pw, err := user.Lookup(name)
	if err != nil {
		var unk user.UnknownUserError
		if errors.As(err, &unk) {
			return nil, ErrUnknownUser
		}
		return nil, fmt.Errorf("%w: %v", ErrTempFail, err)
	}
	fields := map[string]string{"uid": pw.Uid, "gid": pw.Gid, "home": pw.HomeDir}
	v := connVars(ConnInfoFrom(ctx), name)
	v["home"] = pw.HomeDir
	for k, t := range s.Fields {
		if x, err := Expand(t, v, nil); err == nil {
			fields[k] = x
		}
	}
	return NewUser(name, fields)
}
