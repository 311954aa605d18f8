package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// sqlUsersTable is seed 003's users table (username, password) with
// the passwords of sqlUsers: alice's a bare SHA512-CRYPT hash
// (default_pass_scheme), bob's with a {SSHA256} prefix.
func sqlUsersTable(t *testing.T) string {
	t.Helper()
	alice, err := auth.Hash("SHA512-CRYPT", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := auth.Hash("SSHA256", "pw-bob")
	if err != nil {
		t.Fatal(err)
	}
	return "CREATE TABLE users (username VARCHAR(255) NOT NULL PRIMARY KEY, password VARCHAR(255));\n" +
		fmt.Sprintf("INSERT INTO users VALUES ('alice@localhost', '%s');\n", strings.TrimPrefix(alice, "{SHA512-CRYPT}")) +
		fmt.Sprintf("INSERT INTO users VALUES ('bob@localhost', '%s');\n", bob)
}

// seedSQLConf writes seed 003's dovecot-sql.conf.ext (1.3.4, step 4)
// for driver and connect, readable by the mail owner the server runs
// as, and returns its path.
func seedSQLConf(t *testing.T, dir, driver, connect string) string {
	t.Helper()
	path := filepath.Join(dir, "dovecot-sql.conf.ext")
	conf := fmt.Sprintf(`driver = %s
connect = %s
default_pass_scheme = SHA512-CRYPT
user_query = SELECT username FROM users WHERE username='%%u';
password_query = SELECT username AS user, password FROM users WHERE username='%%u';
iterate_query = SELECT username FROM users;
`, driver, connect)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sqlLogins submits a message as alice on the submission port and reads
// it as bob over IMAP and POP3, all authenticated against the database;
// wrong passwords and injection attempts are refused.
func sqlLogins(t *testing.T, in *instance) {
	t.Helper()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.ehlo()
try:
    s.login('alice@localhost', 'wrong')
    sys.exit('wrong password accepted')
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535, e
s.quit()
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.ehlo()
s.login('alice@localhost', 'pw-alice')
s.sendmail('alice@localhost', ['bob@localhost'], 'From: alice@localhost\r\nTo: bob@localhost\r\nSubject: sql\r\n\r\nhello bob\r\n')
wait_mail('bob', 1)
s.quit()

for user, pw in (("' OR '1'='1", "x"), ("bob@localhost' --", "x"), ("bob@localhost", "' OR '1'='1"), ("%", "%")):
    m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
    m.starttls(ssl_context=ctx)
    try:
        m.login(m._quote(user), pw)
        sys.exit('injection accepted: %r %r' % (user, pw))
    except imaplib.IMAP4.error as e:
        assert 'AUTHENTICATIONFAILED' in str(e), e
    m.logout()

m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
typ, data = m.select('INBOX')
assert data[0] == b'1', data
m.logout()

p = poplib.POP3('127.0.0.1', P('POP3'))
p.stls(context=ctx)
p.user('bob@localhost')
p.pass_('pw-bob')
count, size = p.stat()
assert count == 1, count
resp, lines, octets = p.retr(1)
assert b'hello bob' in lines, lines
p.quit()
print('OK')
`, "SUB="+strconv.Itoa(in.ports["submission"]), "IMAP="+strconv.Itoa(in.ports["imap"]), "POP3="+strconv.Itoa(in.ports["pop3"]))
	if !strings.Contains(out, "OK") {
		t.Fatalf("python output:\n%s", out)
	}
}

// sqlInstance starts a fullserver whose passdb and userdb are seed
// 003's SQL configuration.
func sqlInstance(t *testing.T, conf string) *instance {
	t.Helper()
	// Loopback is trusted: no per-IP penalty for the failures the
	// test makes on purpose.
	in := newInstance(t, fmt.Sprintf("passdb = sql:%s\nuserdb = sql:%s\nlogin_trusted_networks = 127.0.0.0/8\n", conf, conf))
	os.MkdirAll(in.data, 0o755)
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	in.start()
	return in
}

// TestSQLiteFullserverLogins: passdb and userdb in a SQLite file.
func TestSQLiteFullserverLogins(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedDir(t)
	file := filepath.Join(dir, "users.db")
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range strings.Split(strings.TrimSpace(sqlUsersTable(t)), ";\n") {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	os.Chmod(file, 0o644)
	sqlLogins(t, sqlInstance(t, seedSQLConf(t, dir, "sqlite", file)))
}

// TestMariaDBFullserverLogins: seed 003's MariaDB setup, over TCP with
// TLS verified against the server's CA (ssl_ca).
func TestMariaDBFullserverLogins(t *testing.T) {
	t.Parallel()
	m := testutil.StartMariaDB(t)
	connect := m.CreateDatabase(t, "dovecotDB", "dovecotPW")
	m.Exec(t, "dovecotDB", sqlUsersTable(t))
	sqlLogins(t, sqlInstance(t, seedSQLConf(t, testutil.SharedDir(t), "mysql", connect)))
}

// TestPostgreSQLFullserverLogins: the same tables in PostgreSQL 15,
// over TCP with sslmode=verify-full.
func TestPostgreSQLFullserverLogins(t *testing.T) {
	t.Parallel()
	p := testutil.StartPostgres(t)
	connect := p.CreateDatabase(t, "dovecotdb", "dovecotPW")
	p.Exec(t, "dovecotdb", sqlUsersTable(t))
	sqlLogins(t, sqlInstance(t, seedSQLConf(t, testutil.SharedDir(t), "pgsql", connect)))
}

// TestFullserverPAMMessage: without the pam build tag, passdb = pam is
// refused with a message saying how to get it.
func TestFullserverPAMMessage(t *testing.T) {
	t.Parallel()
	if pamBuilt {
		t.Skip("built with PAM")
	}
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte(testConfig(t, filepath.Join(dir, "data"), "passdb = pam\nuserdb = passwd\n")), 0o644)
	code, _, stderr := runCmd(t, "", "-config", cf, "check")
	if code == 0 || !strings.Contains(stderr, "built without PAM support") || !strings.Contains(stderr, "-tags pam") {
		t.Errorf("check with passdb = pam: exit %d, %s", code, stderr)
	}
}

// TestFullserverPAMAccepted: a binary built with the pam tag takes
// passdb = pam with Dovecot's args.
func TestFullserverPAMAccepted(t *testing.T) {
	t.Parallel()
	if !pamBuilt {
		t.Skip("built without PAM (go test -tags pam)")
	}
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte(testConfig(t, filepath.Join(dir, "data"), "passdb = pam:session=yes yubin-test\nuserdb = passwd\n")), 0o644)
	if code, _, stderr := runCmd(t, "", "-config", cf, "check"); code != 0 {
		t.Errorf("check with passdb = pam: exit %d, %s", code, stderr)
	}
	os.WriteFile(cf, []byte(testConfig(t, filepath.Join(dir, "data"), "passdb = pam:nosuch=1\nuserdb = passwd\n")), 0o644)
	if code, _, stderr := runCmd(t, "", "-config", cf, "check"); code == 0 || !strings.Contains(stderr, "unknown pam option") {
		t.Errorf("check with a bad pam option: exit %d, %s", code, stderr)
	}
}

// TestFullserverSQLConfigErrors: "fullserver check" reports a bad
// dovecot-sql.conf.ext with its file and line (the seed's PDF wraps
// "iterate_query" as "iterate query"), and an unknown driver.
func TestFullserverSQLConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "dovecot-sql.conf.ext")
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte(testConfig(t, filepath.Join(dir, "data"), "passdb = sql:"+conf+"\nuserdb = sql:"+conf+"\n")), 0o644)
	for _, tc := range []struct{ conf, want string }{
		{"driver = mysql\nconnect = host=db\niterate query = SELECT username FROM users;\n", `dovecot-sql.conf.ext:3: unknown setting "iterate query"`},
		{"driver = oracle\nconnect = x\n", `unknown driver "oracle"`},
		{"driver = mysql\nconnect = host=db\npassword_query = SELECT password FROM users WHERE username='%u\n", "unterminated string literal"},
	} {
		os.WriteFile(conf, []byte(tc.conf), 0o600)
		code, _, stderr := runCmd(t, "", "-config", cf, "check")
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, %s", tc.conf, code, stderr)
		}
	}
}
