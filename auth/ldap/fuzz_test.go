package ldap

import (
	"strings"
	"testing"
)

// FuzzParseConfig: any file parses or fails cleanly, and what parses
// makes a DB or an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add("uris = ldap://127.0.0.1\nbase = dc=x\npass_attrs = uid=user,=home=%{ldap:homeDirectory:/x}\n")
	f.Add("hosts = a b:1\nauth_bind_userdn = cn=%n,dc=x\nauth_bind = yes\nscope = onelevel\n")
	f.Add("uris = ldaps://h\nbase = dc=%d\npass_filter = (&(uid=%u)(|(a=*)))\nuser_attrs = a=b=c,=d=%{ldap:e}\n")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := ParseConfig(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		cfg.TLSCACertFile, cfg.TLSCertFile, cfg.TLSKeyFile = "", "", ""
		New(cfg)
	})
}

// FuzzAttrs: attribute maps parse or fail, and what they ask for is
// never empty.
func FuzzAttrs(f *testing.F) {
	f.Add("uid=user,userPassword=password,=home=%{ldap:homeDirectory}")
	f.Add("a,=b=c%{ldap:d:e}f,g=h=i")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseAttrs(s)
		if err != nil {
			return
		}
		if len(requested(m)) == 0 {
			t.Fatalf("no attributes requested for %q", s)
		}
	})
}
