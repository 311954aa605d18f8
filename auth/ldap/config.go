package ldap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Config is the contents of Dovecot's dovecot-ldap.conf.ext, the file
// named by "passdb { driver = ldap args = ... }". Field comments name the
// setting; defaults are Dovecot 2.3's.
type Config struct {
	URIs           []string // uris (or hosts, made into ldap:// URIs)
	DN             string   // dn: the service account searches bind as; empty: anonymous
	DNPass         string   // dnpass
	StartTLS       bool     // tls = yes: StartTLS on ldap:// connections
	TLSCACertFile  string   // tls_ca_cert_file
	TLSCertFile    string   // tls_cert_file (client certificate)
	TLSKeyFile     string   // tls_key_file
	TLSRequireCert string   // tls_require_cert: never, allow, try, demand (default), hard
	Version        int      // ldap_version: only 3
	Base           string   // base
	Scope          string   // scope: base, onelevel, subtree (default)
	Deref          string   // deref: never (default), searching, finding, always
	// SASLBind (sasl_bind = yes) binds the service connections with
	// SASL instead of dn/dnpass; SASLMech (sasl_mech) must then be
	// EXTERNAL, the identity the server gets from the connection
	// (ldapi:// peer credentials or a TLS client certificate).
	SASLBind       bool
	SASLMech       string
	AuthBind       bool   // auth_bind = yes: passwords are checked by binding as the user
	AuthBindUserDN string // auth_bind_userdn: DN template; no search before the bind
	PassAttrs      string // pass_attrs, default "uid=user,userPassword=password"
	PassFilter     string // pass_filter, default "(&(objectClass=posixAccount)(uid=%u))"
	UserAttrs      string // user_attrs, default "homeDirectory=home,uidNumber=uid,gidNumber=gid"
	UserFilter     string // user_filter, default "(&(objectClass=posixAccount)(uid=%u))"
	IterateAttrs   string // iterate_attrs, default "uid=user"
	IterateFilter  string // iterate_filter, default "(objectClass=posixAccount)"
	// DefaultPassScheme applies to stored passwords without "{SCHEME}"
	// (default_pass_scheme, default CRYPT).
	DefaultPassScheme string
}

// Default settings, as Dovecot 2.3's.
const (
	DefaultPassAttrs     = "uid=user,userPassword=password"
	DefaultUserAttrs     = "homeDirectory=home,uidNumber=uid,gidNumber=gid"
	DefaultFilter        = "(&(objectClass=posixAccount)(uid=%u))"
	DefaultIterateAttrs  = "uid=user"
	DefaultIterateFilter = "(objectClass=posixAccount)"
)

// maxConfigSize bounds the file read by LoadConfig.
const maxConfigSize = 1 << 20

// LoadConfig reads a dovecot-ldap.conf.ext file.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConfig(io.LimitReader(f, maxConfigSize), path)
}

// ParseConfig reads dovecot-ldap.conf.ext settings ("key = value" lines,
// "#" comments); name is used in error messages. Unknown settings are
// errors, as in Dovecot; the ones that change nothing here (debug_level,
// blocking, ldaprc_path) are accepted.
func ParseConfig(r io.Reader, name string) (*Config, error) {
	c := &Config{Version: 3, Scope: "subtree", Deref: "never", TLSRequireCert: "demand",
		PassAttrs: DefaultPassAttrs, PassFilter: DefaultFilter, UserAttrs: DefaultUserAttrs,
		UserFilter: DefaultFilter, IterateAttrs: DefaultIterateAttrs, IterateFilter: DefaultIterateFilter,
		DefaultPassScheme: "CRYPT"}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	var hosts []string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key = value", name, n)
		}
		k, v = strings.TrimSpace(k), unquote(strings.TrimSpace(v))
		bad := func(what string) error { return fmt.Errorf("%s:%d: %s: %s", name, n, k, what) }
		switch k {
		case "uris":
			c.URIs = strings.Fields(v)
		case "hosts":
			hosts = strings.Fields(v)
		case "dn":
			c.DN = v
		case "dnpass":
			c.DNPass = v
		case "tls":
			b, err := yesNo(v)
			if err != nil {
				return nil, bad(err.Error())
			}
			c.StartTLS = b
		case "tls_ca_cert_file":
			c.TLSCACertFile = v
		case "tls_cert_file":
			c.TLSCertFile = v
		case "tls_key_file":
			c.TLSKeyFile = v
		case "tls_require_cert":
			switch v {
			case "never", "allow", "try", "demand", "hard":
				c.TLSRequireCert = v
			default:
				return nil, bad("want never, allow, try, demand or hard")
			}
		case "ldap_version":
			if v != "3" {
				return nil, bad("only version 3 is supported")
			}
		case "base":
			c.Base = v
		case "scope":
			switch v {
			case "base", "onelevel", "subtree":
				c.Scope = v
			default:
				return nil, bad("want base, onelevel or subtree")
			}
		case "deref":
			switch v {
			case "never", "searching", "finding", "always":
				c.Deref = v
			default:
				return nil, bad("want never, searching, finding or always")
			}
		case "auth_bind":
			b, err := yesNo(v)
			if err != nil {
				return nil, bad(err.Error())
			}
			c.AuthBind = b
		case "auth_bind_userdn":
			c.AuthBindUserDN = v
		case "pass_attrs":
			c.PassAttrs = v
		case "pass_filter":
			c.PassFilter = v
		case "user_attrs":
			c.UserAttrs = v
		case "user_filter":
			c.UserFilter = v
		case "iterate_attrs":
			c.IterateAttrs = v
		case "iterate_filter":
			c.IterateFilter = v
		case "default_pass_scheme":
			c.DefaultPassScheme = v
		case "debug_level", "blocking", "ldaprc_path", "tls_cipher_suite", "tls_ca_cert_dir":
		case "sasl_bind":
			b, err := yesNo(v)
			if err != nil {
				return nil, bad(err.Error())
			}
			c.SASLBind = b
		case "sasl_mech":
			if v != "" && !strings.EqualFold(v, "EXTERNAL") {
				return nil, bad("sasl_mech: only EXTERNAL is supported, not " + v)
			}
			c.SASLMech = strings.ToUpper(v)
		case "sasl_realm", "sasl_authz_id":
			if v != "" {
				return nil, bad(k + " is not supported (SASL EXTERNAL takes the identity from the connection)")
			}
		default:
			return nil, fmt.Errorf("%s:%d: unknown setting %q", name, n, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, h := range hosts {
		c.URIs = append(c.URIs, "ldap://"+h)
	}
	if len(c.URIs) == 0 {
		return nil, fmt.Errorf("%s: neither uris nor hosts is set", name)
	}
	if c.SASLBind && c.SASLMech != "EXTERNAL" {
		return nil, fmt.Errorf("%s: sasl_bind = yes needs sasl_mech = EXTERNAL (the only SASL mechanism supported)", name)
	}
	for _, u := range c.URIs {
		if !strings.HasPrefix(u, "ldap://") && !strings.HasPrefix(u, "ldaps://") && !strings.HasPrefix(u, "ldapi://") {
			return nil, fmt.Errorf("%s: uris: %q is not an ldap://, ldaps:// or ldapi:// URI", name, u)
		}
	}
	if c.Base == "" && c.AuthBindUserDN == "" {
		return nil, fmt.Errorf("%s: base is not set", name)
	}
	return c, nil
}

func yesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "1":
		return true, nil
	case "no", "n", "false", "0", "":
		return false, nil
	}
	return false, errors.New("want yes or no")
}

// unquote removes the double quotes around a value, as Dovecot does.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
		return v[1 : len(v)-1]
	}
	return v
}
