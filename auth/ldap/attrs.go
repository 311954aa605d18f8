package ldap

import (
	"fmt"
	"regexp"
	"strings"

	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/auth"
)

// attrMap is one item of pass_attrs/user_attrs/iterate_attrs:
// "ldapAttr=field" (the attribute's value), "=field=template" or
// "ldapAttr=field=template" (a template that may use %{ldap:attr} and
// %{ldap:attr:default}).
type attrMap struct {
	attr  string // LDAP attribute; "" for a pure template
	field string // Dovecot field name
	tmpl  string // template, or "" for the attribute's value
	isTpl bool
}

// ldapVar matches %{ldap:attr} and %{ldap:attr:default} in templates.
var ldapVar = regexp.MustCompile(`%\{ldap:([A-Za-z0-9;-]+)(?::([^}]*))?\}`)

// parseAttrs reads a comma-separated attribute map.
func parseAttrs(s string) ([]attrMap, error) {
	var out []attrMap
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		attr, rest, hasEq := strings.Cut(item, "=")
		m := attrMap{attr: strings.TrimSpace(attr), field: strings.TrimSpace(rest)}
		if !hasEq {
			m.field = m.attr
		}
		if f, tmpl, ok := strings.Cut(rest, "="); ok {
			m.field, m.tmpl, m.isTpl = strings.TrimSpace(f), tmpl, true
		}
		if m.field == "" || (m.attr == "" && !m.isTpl) {
			return nil, fmt.Errorf("bad attribute mapping %q", item)
		}
		out = append(out, m)
	}
	return out, nil
}

// requested returns the LDAP attributes a search must ask for.
func requested(maps []attrMap) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if a != "" && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	for _, m := range maps {
		add(m.attr)
		for _, sm := range ldapVar.FindAllStringSubmatch(m.tmpl, -1) {
			add(sm[1])
		}
	}
	if len(out) == 0 {
		out = []string{"1.1"} // RFC 4511 4.5.1.8: no attributes
	}
	return out
}

// fields maps entry to Dovecot fields. v holds the user's variables;
// templates see the entry's attributes as %{ldap:attr}.
func fields(maps []attrMap, e *ldapc.Entry, v auth.Vars) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range maps {
		if !m.isTpl {
			if vals := e.GetEqualFoldAttributeValues(m.attr); len(vals) > 0 {
				out[m.field] = vals[0]
			}
			continue
		}
		tv := make(auth.Vars, len(v)+4)
		for k, x := range v {
			tv[k] = x
		}
		for _, sm := range ldapVar.FindAllStringSubmatch(m.tmpl, -1) {
			val := e.GetEqualFoldAttributeValue(sm[1])
			if val == "" {
				val = sm[2]
			}
			tv[strings.TrimSuffix(strings.TrimPrefix(sm[0], "%{"), "}")] = val
		}
		x, err := auth.Expand(m.tmpl, tv, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.field, err)
		}
		out[m.field] = x
	}
	return out, nil
}
