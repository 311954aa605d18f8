package ldaptable

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict/table"
)

// ldapKeys are asked of every configuration: real addresses in several
// cases, addresses in other domains, bare names and domains, and keys
// that would change an unquoted filter or DN.
var ldapKeys = []string{
	"alice@example.com", "ALICE@Example.COM", "a.liddell@example.com", "bob@example.com", "carol@example.org",
	"dup@example.com", "dup2@example.com", "obrien@example.com", "nobody@example.com", "alice", "bob", "carol", "dup",
	"postmaster", "postmaster@example.com", "Sales@example.org", "sales", "@example.com", "example.com", "alice@",
	"*", "*@example.com", "alice*", "*)(uid=*", "alice@example.com)(|(mail=*", "alice)(uid=*", `\2a`, "(", ")", `\`,
	"o,brien+(x)*\\", "alice@sub.example.com", "alice@com", "x@a.b.c.d", "alice@example.com,dc=example",
}

// diffLDAP writes conf, asks postmap -q (postfix-ldap) and this package
// for every key, and wants the same answers.
func diffLDAP(t *testing.T, conf string, keys []string) {
	t.Helper()
	testutil.RequireBinary(t, "postmap")
	if _, err := os.Stat("/usr/lib/postfix/postfix-ldap.so"); err != nil {
		testutil.Unavailable(t, "Postfix's LDAP module is missing (Debian package postfix-ldap)")
	}
	cfgDir := testutil.PostfixConfigDir(t)
	if err := os.WriteFile(filepath.Join(cfgDir, "dynamicmaps.cf"), []byte("ldap\tpostfix-ldap.so\tdict_ldap_open\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ldap.cf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	want := testutil.PostmapQuery(t, cfgDir, "ldap:"+path, keys)
	tbl, err := table.Open("ldap:"+path, nil) // through the registry
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer tbl.(*LDAP).Close()
	found := 0
	for _, k := range keys {
		got, ok, err := tbl.Lookup(context.Background(), k)
		if err != nil {
			t.Errorf("Lookup(%q): %v", k, err)
			continue
		}
		w, wok := want[k]
		if ok != wok || got != w {
			t.Errorf("key %q: got (%q, %v), postmap says (%q, %v)", k, got, ok, w, wok)
		}
		if wok {
			found++
		}
	}
	if found == 0 || found == len(keys) {
		t.Fatalf("%d of %d keys found: the test does not discriminate", found, len(keys))
	}
	t.Logf("%d keys compared, %d found: %q", len(keys), found, want)
}

// TestPostfixLDAPTable compares ldap: tables with Postfix's, against the
// same slapd, over LDAP, StartTLS, LDAPS and LDAPI.
func TestPostfixLDAPTable(t *testing.T) {
	s := testutil.SharedSlapd(t)
	cases := map[string]string{
		// Seed 003 §2.5 with aliases in the directory.
		"aliases": "server_host = " + s.LDAPURL + "\nsearch_base = ou=Aliases,dc=example,dc=com\nversion = 3\n" +
			"query_filter = (&(objectClass=nisMailAlias)(cn=%u))\nresult_attribute = rfc822MailMember\n",
		// Address to user, with a result format, over StartTLS as the
		// service account with the certificate checked.
		"mail-to-uid": "server_host = 127.0.0.1\nserver_port = " + strings.TrimPrefix(s.LDAPAddr, "127.0.0.1:") +
			"\nstart_tls = yes\ntls_ca_cert_file = " + s.CAFile + "\ntls_require_cert = yes\nversion = 3\n" +
			"bind = yes\nbind_dn = " + testutil.SlapdServiceDN + "\nbind_pw = " + testutil.SlapdServicePW + "\n" +
			"search_base = dc=example,dc=com\nquery_filter = (mail=%s)\nresult_attribute = uid\nresult_format = %s@mailbox.%D\n",
		// A domain list, several and multi-valued result attributes,
		// over LDAPS.
		"domain": "server_host = " + s.LDAPSURL + "\ntls_ca_cert_file = " + s.CAFile + "\ntls_require_cert = yes\nversion = 3\n" +
			"search_base = dc=example,dc=com\ndomain = example.com, example.net\nquery_filter = (|(mail=%s)(uid=%u))\n" +
			"result_attribute = mail, homeDirectory\nbind = no\n",
		// Domain components in the search base, %u/%d in the result, one
		// level only, over LDAPI.
		"components": "server_host = " + s.LDAPIURL + "\nversion = 3\nsearch_base = ou=People,dc=%2,dc=%1\nscope = one\n" +
			"query_filter = (&(objectClass=posixAccount)(|(uid=%u)(mail=%s)))\nresult_attribute = mail\nresult_format = %d/%u %%\n",
		// Bound with SASL EXTERNAL over LDAPI as the service account,
		// which alone may read userPassword.
		"sasl-external": "server_host = " + s.LDAPIURL + "\nversion = 3\nbind = sasl\nsasl_mechs = EXTERNAL\n" +
			"search_base = dc=example,dc=com\nquery_filter = (mail=%s)\nresult_attribute = userPassword\n",
		// The default query_filter (no parentheses) and result_attribute.
		"defaults": "server_host = " + s.LDAPURL + "\nversion = 3\nsearch_base = dc=example,dc=com\n" +
			"query_filter = uid=%s\nresult_attribute = homeDirectory\n",
	}
	for name, conf := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			diffLDAP(t, conf, ldapKeys)
		})
	}
}

// TestSlapdLDAPTableLimits: expansion_limit and size_limit make a lookup
// fail (temporarily), not come back partial.
func TestSlapdLDAPTableLimits(t *testing.T) {
	s := testutil.SharedSlapd(t)
	for _, conf := range []string{"expansion_limit = 1\n", "size_limit = 1\n"} {
		tbl, err := ParseLDAP([]byte("server_host = "+s.LDAPURL+"\nsearch_base = dc=example,dc=com\n"+
			"query_filter = (uid=%s)\nresult_attribute = mail\n"+conf), "limits.cf", nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, err := tbl.Lookup(context.Background(), "dup"); !errors.Is(err, ErrLDAPUnavailable) {
			t.Errorf("%s: dup = %q, %v, %v; want a failure", conf, v, ok, err)
		}
		if v, ok, err := tbl.Lookup(context.Background(), "bob"); err != nil || !ok || v != "bob@example.com" {
			t.Errorf("%s: bob = %q, %v, %v", conf, v, ok, err)
		}
	}
}

// TestSlapdLDAPTableDown: a server that is down or stops answering is a
// lookup error within the timeout, never "not found".
func TestSlapdLDAPTableDown(t *testing.T) {
	s := testutil.StartSlapd(t)
	tbl, err := ParseLDAP([]byte("server_host = "+s.LDAPURL+"\nsearch_base = dc=example,dc=com\ntimeout = 1\n"+
		"query_filter = (mail=%s)\nresult_attribute = uid\n"), "down.cf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := tbl.Lookup(context.Background(), "bob@example.com"); err != nil || !ok || v != "bob" {
		t.Fatalf("bob = %q, %v, %v", v, ok, err)
	}
	s.Freeze()
	start := time.Now()
	if _, ok, err := tbl.Lookup(context.Background(), "alice@example.com"); !errors.Is(err, ErrLDAPUnavailable) || ok {
		t.Errorf("frozen: %v, %v; want ErrLDAPUnavailable", ok, err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("frozen lookup took %v", el)
	}
	s.Stop()
	if _, _, err := tbl.Lookup(context.Background(), "alice@example.com"); !errors.Is(err, ErrLDAPUnavailable) {
		t.Errorf("stopped: %v; want ErrLDAPUnavailable", err)
	}
}

func TestLDAPTableConfigErrors(t *testing.T) {
	for _, conf := range []string{
		"server_host = x\n",                        // no search_base
		"search_base = dc=x\nscope = everything\n", // bad scope
		"search_base = dc=x\nbind = sasl\n",        // unsupported
		"search_base = dc=x\nrecursion_limit = 0\n",
		"search_base = dc=x\nquery_filter = (&(uid=%s)\n", // bad filter
		"search_base = dc=x\nno_such_thing = 1\n",         // unknown
		"search_base = dc=x\nsize_limit = -1\n",           // bad number
		"search_base = dc=x\nversion = 4\n",
		"just words\n",
	} {
		if _, err := ParseLDAP([]byte(conf), "bad.cf", nil); err == nil {
			t.Errorf("ParseLDAP(%q) accepted", conf)
		}
	}
}

// FuzzLDAPTableConfig: any configuration parses or fails cleanly.
func FuzzLDAPTableConfig(f *testing.F) {
	f.Add("server_host = ldap://h:1 ldaps://x\nsearch_base = dc=%2,dc=%1\nquery_filter = (mail=%s)\nresult_format = %u%D%9\n")
	f.Add("search_base = o=x\n  continued\ndomain = a.b, c\nscope = one\nbind = no\n")
	f.Fuzz(func(t *testing.T, conf string) {
		tbl, err := ParseLDAP([]byte(conf), "fuzz.cf", nil)
		if err != nil {
			return
		}
		expandKey(tbl.filter, "a@b.c", func(s string) string { return s })
		formatResult(tbl.format, "x@y", "a@b.c")
	})
}
