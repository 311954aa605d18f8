package auth

import (
	"errors"
	"strings"
)

// Vars holds the values of Dovecot's %-variables, keyed by long name
// ("user", "service", "rip", "lip", "home", ...). "username" and
// "domain" are derived from "user" when absent.
type Vars map[string]string

// shortVars maps Dovecot's one-letter variables to long names.
var shortVars = map[byte]string{
	'u': "user", 'n': "username", 'd': "domain", 'h': "home", 's': "service",
	'r': "rip", 'l': "lip", 'a': "lport", 'b': "rport", 'm': "mech",
	'c': "secured", 'p': "pid", 'w': "password", 'k': "cert",
}

// ErrBadTemplate means a template has a syntax error (unknown variable,
// unterminated "%{") or expands to more than 1 MiB.
var ErrBadTemplate = errors.New("auth: bad variable template")

// maxExpansion bounds what one template expands to (and so a field
// width): far above any path, query or DN, far below memory trouble.
const maxExpansion = 1 << 20

func (v Vars) get(name string) (string, bool) {
	if s, ok := v[name]; ok {
		return s, true
	}
	switch name {
	case "username", "user.username":
		u := v["user"]
		if i := strings.LastIndexByte(u, '@'); i >= 0 {
			return u[:i], true
		}
		return u, true
	case "domain", "user.domain":
		u := v["user"]
		if i := strings.LastIndexByte(u, '@'); i >= 0 {
			return u[i+1:], true
		}
		return "", true
	case "user", "home", "service", "rip", "lip", "lport", "rport", "mech", "secured", "pid",
		"password", "cert", "session", "orig_user", "original_user", "real_rip", "real_lip", "local_name":
		return "", true
	}
	return "", false
}

// Expand expands Dovecot's variables in tmpl: "%u", "%n", "%d", "%h",
// "%{user}" and the other names of [Vars], with modifiers between "%" and
// the name: L (lower case), U (upper case), R (reverse), M (MD5 hex),
// H (hash; with a width, modulo it), D (domain to LDAP DN), X (decimal to
// hex), E (escape \ and "), T (trim trailing space), and
// "[offset.]width" (substring; a leading 0 pads instead; a negative
// offset counts from the end). "%%" is a literal "%". escape, when not
// nil, is applied to each expanded value (for SQL or LDAP backends).
// The syntax is Dovecot 2.3's var_expand, shared with pop3's
// pop3_uidl_format (internal/varexpand).
func Expand(tmpl string, v Vars, escape func(string) string) (string, error) {
	if !strings.Contains(tmpl, "%") {
		return tmpl, nil
	}
	t, err := ParseTemplate(tmpl)
	if err != nil {
		return "", err
	}
	return t.Expand(v, escape)
}
