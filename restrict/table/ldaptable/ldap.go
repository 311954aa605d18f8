// Package ldaptable registers Postfix's ldap: lookup table
// (ldap_table(5)) with package table, through github.com/go-ldap/ldap/v3.
// Import it for its effect:
//
//	import _ "github.com/yubinmail/yubin/restrict/table/ldaptable"
//
// Then table.Open("ldap:/etc/postfix/ldap-aliases.cf", nil) opens an
// LDAP table; OpenLDAP and ParseLDAP give the concrete type.
package ldaptable

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	ldapc "github.com/go-ldap/ldap/v3"

	"github.com/yubinmail/yubin/internal/ldapconn"
	"github.com/yubinmail/yubin/restrict/table"
)

// LDAP is Postfix's ldap: table (ldap_table(5)): each lookup is a search
// of search_base with query_filter, and the result_attribute values of
// the entries found, through result_format, joined with ",". Keys are
// folded to lower case (as postmap and Postfix's servers do) and quoted
// (RFC 4515 in the filter, RFC 4514 in the search base); keys that are
// not UTF-8 are not looked up. A server that cannot be reached or does
// not answer within "timeout" is an error ErrLDAPUnavailable (a
// temporary failure for the caller), never "not found".
//
// Supported parameters: server_host, server_port, timeout, search_base,
// query_filter, result_format (result_filter), domain (names and
// type:table references), result_attribute, scope, bind (yes/no/simple/
// none), bind_dn, bind_pw, size_limit, expansion_limit, dereference,
// version (2 or 3; the protocol spoken is version 3), start_tls,
// tls_ca_cert_file, tls_cert, tls_key, tls_require_cert,
// special_result_attribute (attributes holding DNs or LDAP URLs that are
// searched in turn, up to recursion_limit deep: group expansion),
// terminal_result_attribute (an entry that has one returns only those)
// and leaf_result_attribute (returned only from entries without special
// result attributes), with Postfix's rules; bind = sasl with sasl_mechs
// = EXTERNAL (the identity taken from an ldapi:// connection or a TLS
// client certificate). Not supported (an error when set): other SASL
// mechanisms, sasl_realm, sasl_authz_id. The configuration file is read
// once.
type LDAP struct {
	name         string
	base, filter string
	format       string
	// attrs are all the attributes asked for, as Postfix lists them:
	// the terminal result attributes, then the leaf ones, then the
	// ordinary ones (nTerminal, nLeaf and nResult of them, together
	// nAttributes), then the special ones.
	attrs            []string
	nTerminal, nLeaf int
	nAttributes      int
	recursionLimit   int
	domains          []string
	domainTables     []table.Table
	scope, deref     int
	sizeLimit        int
	expansion        int
	pool             *ldapconn.Pool
}

// ErrLDAPUnavailable wraps lookups that failed because the LDAP server
// could not be reached, did not answer in time, or answered with an
// error.
var ErrLDAPUnavailable = errors.New("ldap table lookup failed")

// DefaultLDAPConns bounds the connections of one ldap: table.
const DefaultLDAPConns = 4

// OpenLDAP reads an ldap_table(5) configuration file (at most 1 MiB).
func OpenLDAP(path string, o *table.Options) (*LDAP, error) {
	p, err := table.ReadConfigFile(path)
	if err != nil {
		return nil, err
	}
	return fromConfig(p, path, o)
}

// Open is OpenLDAP as a table.Opener: ldap:PATH.
func Open(path string, o *table.Options) (table.Table, error) {
	t, err := OpenLDAP(path, o)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func init() { table.Register("ldap", Open) }

// ParseLDAP reads ldap_table(5) settings ("name = value" lines, indented
// continuation lines, "#" comments); name is used in error messages.
func ParseLDAP(data []byte, name string, o *table.Options) (*LDAP, error) {
	p, err := table.ParseConfigFile(data, name)
	if err != nil {
		return nil, err
	}
	return fromConfig(p, name, o)
}

// fromConfig builds the table from its settings.
func fromConfig(p map[string]string, name string, o *table.Options) (*LDAP, error) {
	var err error
	get := func(k, def string) string {
		if v, ok := p[k]; ok {
			delete(p, k)
			return v
		}
		return def
	}
	bad := func(msg string) error { return &table.Error{File: name, Msg: msg} }
	num := func(k string, def int) (int, error) {
		s := get(k, strconv.Itoa(def))
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, bad(fmt.Sprintf("%s: bad number %q", k, s))
		}
		return n, nil
	}
	t := &LDAP{name: name}
	hosts := get("server_host", "localhost")
	port := get("server_port", "389")
	timeout, err := num("timeout", 10)
	if err != nil {
		return nil, err
	}
	t.base = get("search_base", "")
	t.filter = get("query_filter", "mailacceptinggeneralid=%s")
	if !strings.HasPrefix(strings.TrimSpace(t.filter), "(") {
		t.filter = "(" + t.filter + ")"
	}
	t.format = get("result_format", get("result_filter", "%s"))
	t.attrs = splitList(get("terminal_result_attribute", ""))
	t.nTerminal = len(t.attrs)
	t.attrs = append(t.attrs, splitList(get("leaf_result_attribute", ""))...)
	t.nLeaf = len(t.attrs) - t.nTerminal
	t.attrs = append(t.attrs, splitList(get("result_attribute", "maildrop"))...)
	t.nAttributes = len(t.attrs)
	t.attrs = append(t.attrs, splitList(get("special_result_attribute", ""))...)
	if t.recursionLimit, err = num("recursion_limit", 1000); err != nil {
		return nil, err
	}
	if t.recursionLimit < 1 {
		return nil, bad("recursion_limit: want at least 1")
	}
	for _, d := range splitList(get("domain", "")) {
		if strings.Contains(d, ":") {
			tbl, err := table.Open(d, o)
			if err != nil {
				return nil, bad("domain: " + err.Error())
			}
			t.domainTables = append(t.domainTables, tbl)
		} else {
			t.domains = append(t.domains, strings.ToLower(d))
		}
	}
	switch s := strings.ToLower(get("scope", "sub")); s {
	case "sub", "subtree":
		t.scope = ldapc.ScopeWholeSubtree
	case "one", "onelevel":
		t.scope = ldapc.ScopeSingleLevel
	case "base":
		t.scope = ldapc.ScopeBaseObject
	default:
		return nil, bad("scope: want sub, one or base, not " + s)
	}
	d := &ldapconn.Dialer{Timeout: time.Duration(max(timeout, 1)) * time.Second}
	switch b := strings.ToLower(get("bind", "yes")); b {
	case "yes", "simple":
		d.BindDN, d.BindPW = get("bind_dn", ""), get("bind_pw", "")
	case "no", "none":
		get("bind_dn", "")
		get("bind_pw", "")
	case "sasl":
		// SASL EXTERNAL: the server takes the identity from the
		// connection (ldapi:// peer credentials, a TLS client
		// certificate).
		get("bind_dn", "")
		get("bind_pw", "")
		mechs := strings.Fields(strings.ToUpper(get("sasl_mechs", "")))
		if !slices.Contains(mechs, "EXTERNAL") {
			return nil, bad("bind = sasl: only sasl_mechs = EXTERNAL is supported")
		}
		for _, k := range []string{"sasl_realm", "sasl_authz_id"} {
			if get(k, "") != "" {
				return nil, bad(k + " is not supported (SASL EXTERNAL takes the identity from the connection)")
			}
		}
		get("sasl_minssf", "")
		d.SASLExternal = true
	default:
		return nil, bad("bind: want yes (simple), sasl or no, not " + b)
	}
	if t.expansion, err = num("expansion_limit", 0); err != nil {
		return nil, err
	}
	if t.sizeLimit, err = num("size_limit", t.expansion); err != nil {
		return nil, err
	}
	if t.deref, err = num("dereference", 0); err != nil || t.deref > 3 {
		return nil, bad("dereference: want 0, 1, 2 or 3")
	}
	if v := get("version", "3"); v != "2" && v != "3" {
		return nil, bad("version: want 2 or 3")
	}
	d.StartTLS, _ = parseBool(get("start_tls", "no"))
	verify, _ := parseBool(get("tls_require_cert", "no"))
	var roots *x509.CertPool
	if f := get("tls_ca_cert_file", ""); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, bad("tls_ca_cert_file: " + err.Error())
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, bad("tls_ca_cert_file: no PEM certificate in " + f)
		}
	}
	var certs []tls.Certificate
	if c, k := get("tls_cert", ""), get("tls_key", ""); c != "" || k != "" {
		pair, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			return nil, bad("tls_cert/tls_key: " + err.Error())
		}
		certs = append(certs, pair)
	}
	d.TLS = func(host string) *tls.Config {
		return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, RootCAs: roots,
			InsecureSkipVerify: !verify, Certificates: certs}
	}
	for _, h := range splitList(hosts) {
		switch {
		case strings.HasPrefix(h, "ldap://"), strings.HasPrefix(h, "ldaps://"), strings.HasPrefix(h, "ldapi://"):
			d.URIs = append(d.URIs, h)
		case strings.Contains(h, ":"):
			d.URIs = append(d.URIs, "ldap://"+h)
		default:
			d.URIs = append(d.URIs, "ldap://"+h+":"+port)
		}
	}
	for _, k := range []string{"cache", "cache_expiry", "cache_size", "chase_referrals", "debuglevel", "tls_ca_cert_dir", "tls_random_file", "tls_cipher_suite"} {
		get(k, "")
	}
	for k := range p {
		return nil, bad("unknown parameter " + k)
	}
	if t.base == "" {
		return nil, bad("search_base is not set")
	}
	if _, err := ldapc.CompileFilter(strings.ReplaceAll(t.filter, "%", "x")); err != nil {
		return nil, bad(fmt.Sprintf("query_filter %q: %v", t.filter, err))
	}
	t.pool = ldapconn.NewPool(d, DefaultLDAPConns)
	return t, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q", s)
}

// Close closes the table's idle connections.
func (t *LDAP) Close() error {
	t.pool.Close()
	return nil
}

// Lookup implements table.Table.
func (t *LDAP) Lookup(ctx context.Context, key string) (string, bool, error) {
	key = strings.ToLower(key)
	if key == "" || !utf8.ValidString(key) {
		return "", false, nil
	}
	if ok, err := t.domainAllowed(ctx, key); !ok || err != nil {
		return "", false, err
	}
	filter, ok := expandKey(t.filter, key, ldapc.EscapeFilter)
	if !ok {
		return "", false, nil
	}
	base, ok := expandKey(t.base, key, ldapc.EscapeDN)
	if !ok {
		return "", false, nil
	}
	req := ldapc.NewSearchRequest(base, t.scope, t.deref, t.sizeLimit, 0, false, filter, t.attrs, nil)
	x := &expansion{t: t, key: key}
	err := t.pool.Do(ctx, func(c *ldapc.Conn) error {
		res, err := c.Search(req)
		if err != nil {
			return err
		}
		x.c = c
		err = x.values(res.Entries, 1)
		var le *limitError
		if errors.As(err, &le) {
			// Not the connection's fault: keep it.
			x.failed, err = le, nil
		}
		return err
	})
	if err == nil && x.failed != nil {
		err = x.failed
	}
	switch {
	case ldapc.IsErrorWithCode(err, ldapc.LDAPResultNoSuchObject):
		return "", false, nil
	case ldapc.IsErrorWithCode(err, ldapc.LDAPResultSizeLimitExceeded):
		return "", false, fmt.Errorf("%s: %w: more than size_limit=%d entries for %q", t.name, ErrLDAPUnavailable, t.sizeLimit, key)
	case errors.Is(err, errExpansion):
		return "", false, fmt.Errorf("%s: %w: more than expansion_limit=%d results for %q", t.name, ErrLDAPUnavailable, t.expansion, key)
	case errors.Is(err, errRecursion):
		return "", false, fmt.Errorf("%s: %w: recursion_limit=%d exceeded for %q", t.name, ErrLDAPUnavailable, t.recursionLimit, key)
	case x.failed != nil:
		return "", false, fmt.Errorf("%s: %w: %v", t.name, ErrLDAPUnavailable, err)
	case err != nil:
		return "", false, fmt.Errorf("%s: %w: %v", t.name, ErrLDAPUnavailable, err)
	}
	if len(x.out) == 0 {
		return "", false, nil
	}
	return strings.Join(x.out, ","), true, nil
}

// domainAllowed applies the domain parameter: with a list, only
// user@domain keys with a non-empty local part and a listed domain are
// searched.
func (t *LDAP) domainAllowed(ctx context.Context, key string) (bool, error) {
	if len(t.domains) == 0 && len(t.domainTables) == 0 {
		return true, nil
	}
	i := strings.LastIndexByte(key, '@')
	if i <= 0 || i == len(key)-1 {
		return false, nil
	}
	dom := key[i+1:]
	for _, d := range t.domains {
		if d == dom {
			return true, nil
		}
	}
	for _, tbl := range t.domainTables {
		if _, ok, err := tbl.Lookup(ctx, dom); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// splitKey splits user@domain at the last '@'.
func splitKey(key string) (local, domain string, hasAt bool) {
	if i := strings.LastIndexByte(key, '@'); i >= 0 {
		return key[:i], key[i+1:], true
	}
	return key, "", false
}

// keyPart expands one of %s %u %d %1-9 (either case) of the input key;
// false suppresses the lookup.
func keyPart(c byte, key string) (string, bool) {
	local, domain, hasAt := splitKey(key)
	switch c {
	case 's', 'S':
		return key, true
	case 'u', 'U':
		if hasAt && local == "" {
			return "", false
		}
		return local, true
	case 'd', 'D':
		if !hasAt || domain == "" {
			return "", false
		}
		return domain, true
	}
	if c >= '1' && c <= '9' {
		if !hasAt || domain == "" {
			return "", false
		}
		labels := strings.Split(domain, ".")
		n := int(c - '0')
		if n > len(labels) {
			return "", false
		}
		return labels[len(labels)-n], true
	}
	return "", false
}

// expandKey expands query_filter or search_base for key, quoting each
// expansion with quote; false when the key lacks a part the template
// uses (Postfix then returns no result).
func expandKey(tmpl, key string, quote func(string) string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' || i+1 == len(tmpl) {
			b.WriteByte(tmpl[i])
			continue
		}
		i++
		if tmpl[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := keyPart(tmpl[i], key)
		if !ok {
			return "", false
		}
		b.WriteString(quote(v))
	}
	return b.String(), true
}

// formatResult applies result_format to one attribute value: %s %u %d
// are parts of the value, %S %U %D %1-9 parts of the key; false skips the
// value.
func formatResult(tmpl, val, key string) (string, bool) {
	if val == "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '%' || i+1 == len(tmpl) {
			b.WriteByte(tmpl[i])
			continue
		}
		i++
		c := tmpl[i]
		var v string
		var ok bool
		switch c {
		case '%':
			v, ok = "%", true
		case 's', 'u', 'd':
			v, ok = keyPart(c, val)
		default:
			v, ok = keyPart(c, key)
		}
		if !ok {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}
