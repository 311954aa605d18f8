package ldap

import (
	"context"
	"errors"
	"fmt"
	"os"
	osuser "os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// openConf writes a dovecot-ldap.conf.ext from lines and opens it.
func openConf(t *testing.T, lines ...string) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dovecot-ldap.conf.ext")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// seedAuthBind is seed 003 §1.2.4 with the DN template.
func seedAuthBind(s *testutil.Slapd) []string {
	return []string{
		"uris = " + s.LDAPURL, "tls = yes", "tls_ca_cert_file = " + s.CAFile, "tls_require_cert = hard",
		"auth_bind = yes", "auth_bind_userdn = cn=%n,ou=People,dc=example,dc=com",
		"base = ou=People,dc=example,dc=com", "scope = onelevel",
	}
}

// seedSearch is seed 003 §1.2.4 with the service account's DN search.
func seedSearch(s *testutil.Slapd) []string {
	return []string{
		"uris = " + s.LDAPSURL, "tls_ca_cert_file = " + s.CAFile, "tls_require_cert = hard",
		"dn = " + testutil.SlapdServiceDN, "dnpass = " + testutil.SlapdServicePW,
		"pass_filter = (&(objectClass=posixAccount)(uid=%n))",
		"auth_bind = yes", "base = ou=People,dc=example,dc=com", "scope = onelevel",
	}
}

func user(name string) testutil.SlapdUser {
	for _, u := range testutil.SlapdUsers {
		if u.UID == name {
			return u
		}
	}
	panic("no fixture user " + name)
}

func wantErr(t *testing.T, d *DB, name, pw string, want error) {
	t.Helper()
	id, err := d.Authenticate(context.Background(), name, pw)
	if !errors.Is(err, want) {
		t.Errorf("Authenticate(%q, %q) = %+v, %v; want %v", name, pw, id, err, want)
	}
}

func TestSlapdAuthBindUserDN(t *testing.T) {
	s := testutil.SharedSlapd(t)
	d := openConf(t, seedAuthBind(s)...)
	for _, name := range []string{"alice", "bob", `o,brien+(x)*\`} {
		u := user(name)
		id, err := d.Authenticate(context.Background(), name, u.Password)
		if err != nil || id.User != name {
			t.Errorf("Authenticate(%s) = %+v, %v", name, id, err)
		}
	}
	wantErr(t, d, "alice", "wrong", auth.ErrAuthFailed)
	wantErr(t, d, "nobody", "x", auth.ErrAuthFailed)
	wantErr(t, d, "carol", "carol-secret", auth.ErrAuthFailed) // not cn=carol,ou=People
	// %n is the part before the @: alice@example.com binds as alice.
	if _, err := d.Authenticate(context.Background(), "alice@example.com", "alice-secret"); err != nil {
		t.Errorf("alice@example.com: %v", err)
	}
	if _, err := d.LookupCredentials(context.Background(), "alice", "PLAIN"); !errors.Is(err, auth.ErrUnsupportedScheme) {
		t.Errorf("LookupCredentials with auth binds: %v", err)
	}
}

func TestSlapdDNSearchAuthBind(t *testing.T) {
	s := testutil.SharedSlapd(t)
	d := openConf(t, seedSearch(s)...)
	for _, name := range []string{"alice", "bob", `o,brien+(x)*\`} {
		if _, err := d.Authenticate(context.Background(), name, user(name).Password); err != nil {
			t.Errorf("Authenticate(%s): %v", name, err)
		}
	}
	wantErr(t, d, "alice", "bob pw", auth.ErrAuthFailed)
	wantErr(t, d, "carol", "carol-secret", auth.ErrUnknownUser) // onelevel: not in ou=Staff
	// dup is in ou=People and ou=Staff: one entry with onelevel...
	if _, err := d.Authenticate(context.Background(), "dup", "dup-pw"); err != nil {
		t.Errorf("dup, onelevel: %v", err)
	}
	// ...two with subtree, an error as in Dovecot.
	sub := openConf(t, append(seedSearch(s), "scope = subtree")...)
	if _, err := sub.Authenticate(context.Background(), "carol", "carol-secret"); err != nil {
		t.Errorf("carol, subtree: %v", err)
	}
	_, err := sub.Authenticate(context.Background(), "dup", "dup-pw")
	if !errors.Is(err, auth.ErrTempFail) || !errors.Is(err, errManyEntries) {
		t.Errorf("dup, subtree: %v; want a many-entries error", err)
	}
	// scope = base finds only the base entry itself.
	base := openConf(t, append(seedSearch(s), "scope = base", "base = cn=bob,ou=People,dc=example,dc=com")...)
	if _, err := base.Authenticate(context.Background(), "bob", "bob pw"); err != nil {
		t.Errorf("bob, scope base: %v", err)
	}
	wantErr(t, base, "alice", "alice-secret", auth.ErrUnknownUser)
}

// TestSlapdPasswordLookup reads userPassword as the service account and
// verifies {CRYPT} (SHA512-CRYPT) and {SSHA} here.
func TestSlapdPasswordLookup(t *testing.T) {
	s := testutil.SharedSlapd(t)
	d := openConf(t, "uris = "+s.LDAPURL, "tls = yes", "tls_ca_cert_file = "+s.CAFile,
		"dn = "+testutil.SlapdServiceDN, "dnpass = "+testutil.SlapdServicePW,
		"base = dc=example,dc=com", "pass_attrs = uid=user,userPassword=password,homeDirectory=userdb_home",
		"default_pass_scheme = SHA512-CRYPT")
	for _, name := range []string{"alice", "bob", "carol"} {
		u := user(name)
		id, err := d.Authenticate(context.Background(), name, u.Password)
		if err != nil {
			t.Errorf("Authenticate(%s): %v", name, err)
			continue
		}
		if id.Fields["userdb_home"] != u.Home || id.Fields["password"] != "" {
			t.Errorf("Authenticate(%s) fields = %v", name, id.Fields)
		}
	}
	wantErr(t, d, "alice", "alice-secreT", auth.ErrAuthFailed)
	wantErr(t, d, "bob", "bob", auth.ErrAuthFailed)
	cred, err := d.LookupCredentials(context.Background(), "bob", "SSHA")
	if err != nil || len(cred) != 24 {
		t.Errorf("LookupCredentials(bob, SSHA) = %x, %v", cred, err)
	}
	id, err := d.LookupPass(context.Background(), "alice")
	if err != nil || id.User != "alice" || id.Fields["userdb_home"] != "/home/alice" {
		t.Errorf("LookupPass(alice) = %+v, %v", id, err)
	}
	// Without the service account, anonymous cannot read userPassword:
	// no password, no login.
	anon := openConf(t, "uris = "+s.LDAPURL, "base = dc=example,dc=com")
	wantErr(t, anon, "bob", "bob pw", auth.ErrAuthFailed)
}

func TestSlapdUserDB(t *testing.T) {
	s := testutil.SharedSlapd(t)
	d := openConf(t, append(seedSearch(s),
		"user_filter = (&(objectClass=posixAccount)(uid=%n))",
		"user_attrs = homeDirectory=home,uidNumber=uid,gidNumber=gid,mail=userdb_mail_address,=mail=maildir:%{ldap:homeDirectory}/Maildir,=quota_rule=*:storage=%{ldap:quota:1G}")...)
	u, err := d.LookupUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Home != "/home/alice" || u.UID != 10001 || u.GID != 10001 || u.MailLocation != "maildir:/home/alice/Maildir" ||
		u.Fields["mail_address"] != "alice@example.com" || u.QuotaBytes != 1<<30 {
		t.Errorf("LookupUser(alice) = %+v", u)
	}
	if _, err := d.LookupUser(context.Background(), "nobody"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("LookupUser(nobody): %v", err)
	}
	// Seed 003: override_fields = uid=vmail gid=vmail home=/var/mail/%n/
	// (numbers here: the test host need not have a vmail user).
	d.OverrideFields = map[string]string{"uid": "5000", "gid": "5000", "home": "/var/mail/%n/"}
	d.DefaultFields = map[string]string{"mail": "maildir:~/Other", "quota_rule": "*:storage=5M"}
	u, err = d.LookupUser(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Home != "/var/mail/bob/" || u.UID != 5000 || u.GID != 5000 || u.MailLocation != "maildir:/home/bob/Maildir" {
		t.Errorf("LookupUser(bob) with override_fields = %+v", u)
	}
	users, err := d.ListUsers(context.Background())
	slices.Sort(users)
	want := []string{"alice", "bob", "dup", `o,brien+(x)*\`}
	if err != nil || !slices.Equal(users, want) {
		t.Errorf("ListUsers (onelevel) = %q, %v; want %q", users, err, want)
	}
}

// TestSlapdInjection sends user names that would change an unescaped
// filter or DN; none logs in, none finds an entry, none is a directory
// error.
func TestSlapdInjection(t *testing.T) {
	s := testutil.SharedSlapd(t)
	search := openConf(t, append(seedSearch(s), "scope = subtree")...)
	lookup := openConf(t, "uris = "+s.LDAPURL, "dn = "+testutil.SlapdServiceDN, "dnpass = "+testutil.SlapdServicePW,
		"base = dc=example,dc=com", "pass_filter = (&(objectClass=posixAccount)(uid=%u))")
	userdn := openConf(t, seedAuthBind(s)...)
	names := []string{"*", "*)(uid=*", "alice)(uid=*", "alice)(|(uid=*", "al*", "*)(objectClass=*))(|(uid=*",
		"alice\x00", "alice\x00)(uid=*", `\2a`, `alice\29`, "(", ")", `\`, "alice,ou=People,dc=example,dc=com",
		"alice+sn=alice", "#alice", " alice", "alice ", "dup", strings.Repeat("a", 600), "\xff\xfe"}
	for _, name := range names {
		for _, pw := range []string{"alice-secret", "dup-pw", "*"} {
			for which, d := range map[string]*DB{"search": search, "lookup": lookup, "userdn": userdn} {
				if name == "dup" && which == "userdn" {
					continue // cn=dup,ou=People is one entry: a real user
				}
				id, err := d.Authenticate(context.Background(), name, pw)
				if err == nil {
					t.Errorf("%s: Authenticate(%q, %q) succeeded as %q", which, name, pw, id.User)
					continue
				}
				if name == "dup" && which != "userdn" {
					if !errors.Is(err, errManyEntries) {
						t.Errorf("%s: dup: %v", which, err)
					}
					continue
				}
				if !errors.Is(err, auth.ErrAuthFailed) && !errors.Is(err, auth.ErrUnknownUser) {
					t.Errorf("%s: Authenticate(%q) = %v; want a plain failure", which, name, err)
				}
			}
		}
		if u, err := lookup.LookupUser(context.Background(), name); err == nil || (name != "dup" && !errors.Is(err, auth.ErrUnknownUser)) {
			t.Errorf("LookupUser(%q) = %+v, %v", name, u, err)
		}
	}
	// An empty password would be an unauthenticated bind, which LDAP
	// servers accept: it must never get there.
	for which, d := range map[string]*DB{"search": search, "userdn": userdn} {
		if _, err := d.Authenticate(context.Background(), "alice", ""); !errors.Is(err, auth.ErrAuthFailed) {
			t.Errorf("%s: empty password: %v", which, err)
		}
		if _, err := d.Authenticate(context.Background(), "alice", "alice-secret\x00junk"); !errors.Is(err, auth.ErrAuthFailed) {
			t.Errorf("%s: password with NUL: %v", which, err)
		}
	}
}

func TestSlapdTLSVerification(t *testing.T) {
	s := testutil.SharedSlapd(t)
	// Without the CA, the certificate is not trusted: a temporary failure.
	for _, c := range [][]string{
		{"uris = " + s.LDAPSURL, "tls_require_cert = hard"},
		{"uris = " + s.LDAPURL, "tls = yes"},
	} {
		d := openConf(t, append(c, "auth_bind = yes", "auth_bind_userdn = cn=%n,ou=People,dc=example,dc=com")...)
		wantErr(t, d, "alice", "alice-secret", auth.ErrTempFail)
	}
	// tls_require_cert = never accepts it, as libldap does.
	d := openConf(t, "uris = "+s.LDAPSURL, "tls_require_cert = never", "auth_bind = yes", "auth_bind_userdn = cn=%n,ou=People,dc=example,dc=com")
	if _, err := d.Authenticate(context.Background(), "alice", "alice-secret"); err != nil {
		t.Errorf("tls_require_cert = never: %v", err)
	}
	// A wrong service password is the administrator's error: temporary.
	bad := openConf(t, "uris = "+s.LDAPURL, "dn = "+testutil.SlapdServiceDN, "dnpass = wrong", "base = dc=example,dc=com", "auth_bind = yes")
	wantErr(t, bad, "alice", "alice-secret", auth.ErrTempFail)
}

// TestSlapdDownAndFrozen: a directory that is stopped or stops answering
// gives a temporary failure within the timeout, never "wrong password",
// and the DB recovers when it is back; a Cache in front keeps answering
// for users it has seen.
func TestSlapdDownAndFrozen(t *testing.T) {
	s := testutil.StartSlapd(t)
	d := openConf(t, "uris = "+s.LDAPURL, "dn = "+testutil.SlapdServiceDN, "dnpass = "+testutil.SlapdServicePW,
		"base = dc=example,dc=com", "auth_bind = yes")
	d.Timeout = 300 * time.Millisecond
	d.MaxConns = 2
	cache := &auth.Cache{PassDB: d}
	// The first login fills the cache; on a loaded machine slapd's
	// first answers can take longer than the short timeout.
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		_, err := cache.Authenticate(context.Background(), "alice", "alice-secret")
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal(err)
		}
	}
	s.Freeze()
	check := func(what string) {
		t.Helper()
		var wg sync.WaitGroup
		start := time.Now()
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := d.Authenticate(context.Background(), "bob", fmt.Sprint("bob pw", i))
				if !errors.Is(err, auth.ErrTempFail) {
					t.Errorf("%s: bob: %v; want a temporary failure", what, err)
				}
			}()
		}
		wg.Wait()
		// 6 logins, 2 connections, each wait and each operation bounded
		// by the timeout.
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("%s: logins took %v", what, el)
		}
	}
	check("frozen")
	if _, err := cache.Authenticate(context.Background(), "alice", "alice-secret"); err != nil {
		t.Errorf("cached login while frozen: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := d.Authenticate(ctx, "bob", "bob pw")
	cancel()
	if !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("cancelled context: %v", err)
	}
	s.Thaw()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := d.Authenticate(context.Background(), "bob", "bob pw")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after thaw: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	check("stopped")
}

// TestSlapdConcurrent runs logins from many goroutines over few
// connections.
func TestSlapdConcurrent(t *testing.T) {
	s := testutil.SharedSlapd(t)
	for _, c := range [][]string{seedSearch(s), seedAuthBind(s)} {
		d := openConf(t, c...)
		d.MaxConns = 3
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name, pw := "alice", "alice-secret"
				if i%2 == 1 {
					name, pw = "bob", "bob pw"
				}
				if i%5 == 0 {
					pw = "wrong"
				}
				_, err := d.Authenticate(context.Background(), name, pw)
				if (i%5 == 0) != errors.Is(err, auth.ErrAuthFailed) || (i%5 != 0 && err != nil) {
					t.Errorf("login %d (%s): %v", i, name, err)
				}
			}()
		}
		wg.Wait()
	}
}

// TestSlapdDirectoryChanges: changes made in the directory (over LDAPI,
// as the administrator) show at the next lookup: nothing but an
// auth.Cache in front keeps old answers.
func TestSlapdDirectoryChanges(t *testing.T) {
	s := testutil.StartSlapd(t)
	d := openConf(t, "uris = "+s.LDAPURL, "dn = "+testutil.SlapdServiceDN, "dnpass = "+testutil.SlapdServicePW,
		"base = dc=example,dc=com", "auth_bind = yes")
	if u, err := d.LookupUser(context.Background(), "bob"); err != nil || u.Home != "/home/bob" {
		t.Fatalf("bob before: %+v, %v", u, err)
	}
	s.Modify(t, "dn: cn=bob,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: homeDirectory\nhomeDirectory: /srv/bob\n-\nreplace: userPassword\nuserPassword: new-bob-pw\n")
	if u, err := d.LookupUser(context.Background(), "bob"); err != nil || u.Home != "/srv/bob" {
		t.Errorf("bob after the change: %+v, %v", u, err)
	}
	wantErr(t, d, "bob", "bob pw", auth.ErrAuthFailed)
	if _, err := d.Authenticate(context.Background(), "bob", "new-bob-pw"); err != nil {
		t.Errorf("bob with the new password: %v", err)
	}
	s.Modify(t, "dn: cn=alice,ou=People,dc=example,dc=com\nchangetype: delete\n")
	wantErr(t, d, "alice", "alice-secret", auth.ErrUnknownUser)
}

// TestSlapdStaticUserDB: a static userdb over the LDAP passdb (the
// fullserver's default userdb) knows which users exist, in each of the
// three password modes, though auth binds give no credentials.
func TestSlapdStaticUserDB(t *testing.T) {
	s := testutil.SharedSlapd(t)
	for name, conf := range map[string][]string{
		"userdn": seedAuthBind(s),
		"search": seedSearch(s),
		"lookup": {"uris = " + s.LDAPURL, "dn = " + testutil.SlapdServiceDN, "dnpass = " + testutil.SlapdServicePW,
			"base = ou=People,dc=example,dc=com", "scope = onelevel"},
	} {
		d := openConf(t, conf...)
		udb := &auth.StaticUserDB{PassDB: d, Fields: map[string]string{"home": "/var/mail/%n"}}
		if u, err := udb.LookupUser(context.Background(), "alice"); err != nil || u.Home != "/var/mail/alice" {
			t.Errorf("%s: alice = %+v, %v", name, u, err)
		}
		for _, who := range []string{"nobody", "carol", "*", "alice,ou=People"} {
			if u, err := udb.LookupUser(context.Background(), who); !errors.Is(err, auth.ErrUnknownUser) {
				t.Errorf("%s: %s = %+v, %v; want unknown", name, who, u, err)
			}
		}
		if name == "userdn" {
			if _, err := d.LookupPass(context.Background(), "nobody"); !errors.Is(err, auth.ErrUnknownUser) {
				t.Errorf("LookupPass(nobody) with auth_bind_userdn: %v", err)
			}
		}
	}
}

// TestSlapdSASLExternal: sasl_bind = yes with sasl_mech = EXTERNAL over
// ldapi:// binds the service connections as the process (slapd maps its
// uid to the service account), which may read userPassword; the same
// connection without the SASL bind is anonymous and may not. Dovecot
// 2.3 with dovecot-ldap, on the same file, answers the same
// (doveadm auth test).
func TestSlapdSASLExternal(t *testing.T) {
	s := testutil.SharedSlapd(t)
	lines := []string{"uris = " + s.LDAPIURL, "sasl_bind = yes", "sasl_mech = EXTERNAL",
		"base = ou=People,dc=example,dc=com", "pass_attrs = uid=user,userPassword=password",
		"default_pass_scheme = SHA512-CRYPT"}
	d := openConf(t, lines...)
	for _, name := range []string{"alice", "bob"} {
		if _, err := d.Authenticate(context.Background(), name, user(name).Password); err != nil {
			t.Errorf("Authenticate(%s) over SASL EXTERNAL: %v", name, err)
		}
	}
	wantErr(t, d, "alice", "wrong", auth.ErrAuthFailed)
	anon := openConf(t, "uris = "+s.LDAPIURL, "base = ou=People,dc=example,dc=com", "pass_attrs = uid=user,userPassword=password")
	wantErr(t, anon, "bob", "bob pw", auth.ErrAuthFailed)
	for _, bad := range [][]string{{"sasl_bind = yes"}, {"sasl_bind = yes", "sasl_mech = DIGEST-MD5"}, {"sasl_bind = yes", "sasl_mech = EXTERNAL", "sasl_authz_id = u:x"}} {
		if _, err := ParseConfig(strings.NewReader(strings.Join(append([]string{"uris = " + s.LDAPIURL}, bad...), "\n")), "bad.conf"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}

	// Dovecot, on the same settings, as the same uid.
	if _, err := os.Stat("/usr/lib/dovecot/modules/auth/libauthdb_ldap.so"); err != nil {
		testutil.Unavailable(t, "Dovecot's LDAP module is missing (Debian package dovecot-ldap)")
	}
	dir := testutil.SharedDir(t)
	confPath := filepath.Join(dir, "dovecot-ldap.conf.ext")
	os.WriteFile(confPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	empty := filepath.Join(dir, "passwd")
	os.WriteFile(empty, nil, 0o644)
	dv := testutil.StartDovecot(t, testutil.DovecotConfig{PasswdFile: empty, Extra: fmt.Sprintf(
		"auth_cache_size = 0\nservice auth {\n  user = %s\n}\nservice auth-worker {\n  user = %s\n}\npassdb {\n  driver = ldap\n  args = %s\n}\n",
		currentUser(t), currentUser(t), confPath)})
	for _, c := range []struct{ name, pw string }{{"alice", user("alice").Password}, {"bob", user("bob").Password}, {"alice", "wrong"}} {
		_, err := dv.DoveadmErr(nil, "auth", "test", c.name, c.pw)
		_, ours := d.Authenticate(context.Background(), c.name, c.pw)
		if (err == nil) != (ours == nil) {
			t.Errorf("%s/%s: Dovecot ok=%v, yubin %v", c.name, c.pw, err == nil, ours)
		}
	}
}

func currentUser(t *testing.T) string {
	u, err := osuser.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
