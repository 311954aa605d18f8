package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/internal/varexpand"
)

// Template is a variable template (the syntax of [Expand]) parsed once,
// for the templates a backend expands at every login (LDAP filters and
// DNs, the username format).
type Template struct {
	src string
	t   varexpand.Template
}

// ParseTemplate parses tmpl; a syntax error wraps ErrBadTemplate.
func ParseTemplate(tmpl string) (*Template, error) {
	t, err := varexpand.Parse(tmpl, varexpand.Syntax{Short: shortVars, MaxWidth: maxExpansion})
	if err != nil {
		return nil, templateErr(err)
	}
	return &Template{src: tmpl, t: t}, nil
}

// String returns the template's source text.
func (t *Template) String() string { return t.src }

// Expand expands the template as [Expand] does.
func (t *Template) Expand(v Vars, escape func(string) string) (string, error) {
	return t.expand(v.get, escape)
}

func (t *Template) expand(lookup func(string) (string, bool), escape func(string) string) (string, error) {
	if len(t.t) == 1 && t.t[0].Name == "" && len(t.t[0].Lit) <= maxExpansion {
		return t.t[0].Lit, nil
	}
	out, err := t.t.Expand(lookup, escape, maxExpansion)
	if err != nil {
		return "", templateErr(err)
	}
	return out, nil
}

func templateErr(err error) error {
	var e *varexpand.Error
	if errors.As(err, &e) {
		return fmt.Errorf("%w: %s", ErrBadTemplate, e.Msg)
	}
	return fmt.Errorf("%w: %v", ErrBadTemplate, err)
}

// lowerUser reports whether the template is exactly "%Lu" (the default
// auth_username_format), which needs no variable lookup.
func (t *Template) lowerUser() bool {
	if len(t.t) != 1 {
		return false
	}
	p := t.t[0]
	return p.Name == "user" && p.Mods == "L" && !p.HasWidth && !p.HasOffset && !p.ZeroPad
}

// connLookup looks up the %-variables of connVars(c, user) without
// building the map: only the variables a template names are computed.
type connLookup struct {
	c    *ConnInfo
	user string
}

func (l *connLookup) get(name string) (string, bool) {
	c := l.c
	if c != nil {
		switch name {
		case "service":
			return c.Service, true
		case "rip":
			if ip := addrIP(c.RemoteAddr); ip.IsValid() {
				return ip.String(), true
			}
			return "", true
		case "lip":
			if ip := addrIP(c.LocalAddr); ip.IsValid() {
				return ip.String(), true
			}
			return "", true
		case "rport":
			return addrPort(c.RemoteAddr), true
		case "lport":
			return addrPort(c.LocalAddr), true
		case "secured":
			if c.TLS != nil || addrIP(c.RemoteAddr).IsLoopback() {
				return "secured", true
			}
			return "", true
		}
	}
	if name == "user" {
		return l.user, true
	}
	return Vars{"user": l.user}.get(name)
}

// usernameFormat returns the parsed UsernameFormat, parsing it again
// only when the field changed.
func (s *Service) usernameFormat() (*Template, error) {
	src := orDefault(s.UsernameFormat, DefaultUsernameFormat)
	if t := s.userFmt.Load(); t != nil && t.src == src {
		return t, nil
	}
	t, err := ParseTemplate(src)
	if err != nil {
		return nil, err
	}
	s.userFmt.Store(t)
	return t, nil
}

// formatUser applies UsernameFormat to user on c.
func (s *Service) formatUser(c *ConnInfo, user string) (string, error) {
	t, err := s.usernameFormat()
	if err != nil {
		return "", err
	}
	if t.lowerUser() {
		return strings.ToLower(user), nil
	}
	l := connLookup{c: c, user: user}
	return t.expand(l.get, nil)
}
