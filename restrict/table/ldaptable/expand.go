package ldaptable

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	ldapc "github.com/go-ldap/ldap/v3"
)

// limitError fails a lookup for what the directory holds (too many
// results, groups nested too deep, a bad URL), not for the connection.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

var (
	errExpansion = &limitError{"expansion_limit exceeded"}
	errRecursion = &limitError{"recursion_limit exceeded"}
)

// expansion collects one lookup's results, following special result
// attributes the way Postfix's dict_ldap does.
type expansion struct {
	t   *LDAP
	c   *ldapc.Conn
	key string
	out []string
	// failed is the limitError that ended the expansion.
	failed error
}

// index is attr's place in t.attrs, or -1.
func (t *LDAP) index(attr string) int {
	for i, a := range t.attrs {
		if strings.EqualFold(a, attr) {
			return i
		}
	}
	return -1
}

// values adds the results of entries, found at the given depth of
// recursion (the first search is depth 1).
//
// An entry with a terminal result attribute returns only its terminal
// attributes and is not recursed into. An entry with a special result
// attribute (a group) does not return its leaf result attributes. The
// ordinary result attributes are returned from every entry; the values
// of the special ones are DNs (searched with base scope) or LDAP URLs
// (searched as they say), whose entries are expanded in turn. A DN that
// does not exist is skipped; any other error fails the lookup.
func (x *expansion) values(entries []*ldapc.Entry, depth int) error {
	t := x.t
	for _, e := range entries {
		terminal := false
		for _, a := range t.attrs[:t.nTerminal] {
			if len(e.GetEqualFoldAttributeValues(a)) > 0 {
				terminal = true
				break
			}
		}
		leaf := true
		if !terminal && t.nLeaf > 0 {
			for _, a := range t.attrs[t.nAttributes:] {
				if len(e.GetEqualFoldAttributeValues(a)) > 0 {
					leaf = false
					break
				}
			}
		}
		for _, attr := range e.Attributes {
			if len(attr.Values) == 0 {
				continue
			}
			i := t.index(attr.Name)
			if i < 0 {
				continue
			}
			if i < t.nAttributes || terminal {
				if (terminal && i >= t.nTerminal) || (!leaf && i < t.nTerminal+t.nLeaf) {
					continue
				}
				for _, v := range attr.Values {
					if r, ok := formatResult(t.format, v, x.key); ok {
						x.out = append(x.out, r)
						if t.expansion > 0 && len(x.out) > t.expansion {
							return errExpansion
						}
					}
				}
				continue
			}
			if depth >= t.recursionLimit {
				return errRecursion
			}
			for _, v := range attr.Values {
				if err := x.follow(v, depth); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// follow searches the DN or LDAP URL held by a special result attribute
// and expands what it finds.
func (x *expansion) follow(v string, depth int) error {
	t := x.t
	var req *ldapc.SearchRequest
	if isLDAPURL(v) {
		u, err := parseLDAPURL(v)
		if err != nil {
			return &limitError{fmt.Sprintf("special result attribute value %q: %v", v, err)}
		}
		req = ldapc.NewSearchRequest(u.dn, u.scope, t.deref, t.sizeLimit, 0, false, u.filter, u.attrs, nil)
	} else {
		req = ldapc.NewSearchRequest(v, ldapc.ScopeBaseObject, t.deref, t.sizeLimit, 0, false, "(objectClass=*)", t.attrs, nil)
	}
	res, err := x.c.Search(req)
	if ldapc.IsErrorWithCode(err, ldapc.LDAPResultNoSuchObject) {
		return nil // as if the entry had no result attributes
	}
	if err != nil {
		return err
	}
	return x.values(res.Entries, depth+1)
}

// isLDAPURL reports whether v is an LDAP URL rather than a DN, as
// OpenLDAP's ldap_is_ldap_url decides.
func isLDAPURL(v string) bool {
	l := strings.ToLower(strings.TrimPrefix(v, "<"))
	l = strings.TrimPrefix(l, "url:")
	return strings.HasPrefix(l, "ldap://") || strings.HasPrefix(l, "ldaps://") || strings.HasPrefix(l, "ldapi://")
}

// ldapURL is the search an RFC 4516 URL names (its host part is ignored:
// the search goes over the table's own connection, as Postfix's does).
type ldapURL struct {
	dn     string
	attrs  []string
	scope  int
	filter string
}

// parseLDAPURL parses "ldap://host/dn?attrs?scope?filter?extensions".
func parseLDAPURL(v string) (*ldapURL, error) {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	if len(v) >= 4 && strings.EqualFold(v[:4], "url:") {
		v = v[4:]
	}
	i := strings.Index(v, "://")
	if i < 0 {
		return nil, errors.New("not an LDAP URL")
	}
	rest := v[i+3:]
	slash := strings.IndexByte(rest, '/')
	u := &ldapURL{scope: ldapc.ScopeBaseObject, filter: "(objectClass=*)"}
	if slash < 0 {
		return u, nil
	}
	parts := strings.SplitN(rest[slash+1:], "?", 5)
	dec := func(s string) (string, error) { return url.PathUnescape(s) }
	var err error
	if u.dn, err = dec(parts[0]); err != nil {
		return nil, err
	}
	if len(parts) > 1 && parts[1] != "" {
		for _, a := range strings.Split(parts[1], ",") {
			a, err := dec(a)
			if err != nil {
				return nil, err
			}
			u.attrs = append(u.attrs, a)
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		switch strings.ToLower(parts[2]) {
		case "base":
			u.scope = ldapc.ScopeBaseObject
		case "one":
			u.scope = ldapc.ScopeSingleLevel
		case "sub":
			u.scope = ldapc.ScopeWholeSubtree
		default:
			return nil, fmt.Errorf("bad scope %q", parts[2])
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		if u.filter, err = dec(parts[3]); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(u.filter, "(") {
			u.filter = "(" + u.filter + ")"
		}
	}
	return u, nil
}
