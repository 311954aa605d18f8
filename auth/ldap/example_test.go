package ldap_test

import (
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/ldap"
)

// Seed 003's dovecot-ldap.conf.ext: a service account finds the user's
// DN, then a bind as the user checks the password. The DB is an
// auth.PassDB and auth.UserDB; an auth.Cache goes in front.
func Example() {
	conf := `
uris = ldaps://ldap.example.com
tls_require_cert = hard
dn = cn=dovecot_LDAP,dc=example,dc=com
dnpass = password
pass_filter = (&(objectClass=posixAccount)(uid=%n))
auth_bind = yes
base = ou=People,dc=example,dc=com
scope = onelevel
`
	cfg, err := ldap.ParseConfig(strings.NewReader(conf), "dovecot-ldap.conf.ext")
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := ldap.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	db.OverrideFields = map[string]string{"uid": "vmail", "gid": "vmail", "home": "/var/mail/%n/"}
	var passdb auth.PassDB = &auth.Cache{PassDB: db}
	var userdb auth.UserDB = db
	_, _ = passdb, userdb
	fmt.Println(cfg.URIs, cfg.Scope, cfg.AuthBind)
	// Output: [ldaps://ldap.example.com] onelevel true
}
