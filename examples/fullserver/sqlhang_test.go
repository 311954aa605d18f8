package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestMariaDBFullserverUnresponsive: a database that stops answering
// (SIGSTOP) gives temporary failures within the time-out and blocks
// nothing else. With passdb = sql, IMAP LOGIN gets NO [UNAVAILABLE],
// POP3 -ERR [SYS/TEMP]... and submission 454 4.7.0 (never "wrong
// password") while other connections are greeted at once. With passdb =
// passwd-file and a mysql: virtual_alias_maps on the same hung database,
// passwd-file users log in at once and RCPT gets 451 4.3.0.
func TestMariaDBFullserverUnresponsive(t *testing.T) {
	t.Parallel()
	m := testutil.StartMariaDB(t)
	connect := m.CreateDatabase(t, "dovecotDB", "dovecotPW")
	m.Exec(t, "dovecotDB", sqlUsersTable(t)+
		"CREATE TABLE alias (address VARCHAR(255), goto VARCHAR(255));\n"+
		"INSERT INTO alias VALUES ('info@alias.example.org', 'carol@localhost');\n")
	sqlIn := sqlInstance(t, seedSQLConf(t, testutil.SharedDir(t), "mysql", connect))

	aliasCF := filepath.Join(testutil.SharedDir(t), "alias.cf")
	os.WriteFile(aliasCF, []byte(fmt.Sprintf("hosts = inet:127.0.0.1:%d\nuser = dovecotDB\npassword = dovecotPW\ndbname = dovecotDB\n"+
		"query = SELECT goto FROM alias WHERE address = '%%s'\n", m.Port)), 0o644)
	fileIn := newInstance(t, "virtual_alias_domains = alias.example.org\nvirtual_alias_maps = mysql:"+aliasCF+"\nlogin_trusted_networks = 127.0.0.0/8\n")
	os.MkdirAll(fileIn.data, 0o755)
	fileIn.addUsers("carol")
	fileIn.start()

	// Both work while the database answers.
	in := func(in *instance, svc string) string { return strconv.Itoa(in.ports[svc]) }
	env := []string{"SQLIMAP=" + in(sqlIn, "imap"), "SQLPOP3=" + in(sqlIn, "pop3"), "SQLSUB=" + in(sqlIn, "submission"),
		"FILEIMAP=" + in(fileIn, "imap"), "FILESMTP=" + in(fileIn, "smtp")}
	sqlIn.python(pyPrelude+`
m = imaplib.IMAP4('127.0.0.1', P('SQLIMAP')); m.login('alice@localhost', 'pw-alice'); m.logout()
s = smtplib.SMTP('127.0.0.1', P('FILESMTP'))
s.ehlo()
s.mail('x@example.org')
code, msg = s.rcpt('info@alias.example.org')
assert code == 250, (code, msg)
s.quit()
print('OK')
`, env...)

	resume := m.Suspend(t)
	defer resume()
	out := sqlIn.python(pyPrelude+`
import threading
t0 = time.time()
results = {}
def imap_login():
    m = imaplib.IMAP4('127.0.0.1', P('SQLIMAP'))
    try:
        m.login('bob@localhost', 'pw-bob')
        results['imap'] = 'logged in'
    except imaplib.IMAP4.error as e:
        results['imap'] = str(e)
    results['imap_t'] = time.time() - t0
def pop3_login():
    p = poplib.POP3('127.0.0.1', P('SQLPOP3'))
    p.user('bob@localhost')
    try:
        p.pass_('pw-bob')
        results['pop3'] = 'logged in'
    except poplib.error_proto as e:
        results['pop3'] = str(e)
def smtp_auth():
    s = smtplib.SMTP('127.0.0.1', P('SQLSUB'))
    s.starttls(context=ctx)
    s.ehlo()
    try:
        s.login('bob@localhost', 'pw-bob')
        results['smtp'] = 'logged in'
    except smtplib.SMTPException as e:
        results['smtp'] = repr(e)
threads = [threading.Thread(target=f) for f in (imap_login, pop3_login, smtp_auth)]
for th in threads: th.start()
time.sleep(0.5)
# Meanwhile the servers answer others at once.
t1 = time.time()
m = imaplib.IMAP4('127.0.0.1', P('SQLIMAP'))
m.capability()
m.logout()
greet = time.time() - t1
assert greet < 2, 'greeting took %.1fs while a login waits on the database' % greet
# A passwd-file host using the same database for a table: its users log in at once.
t1 = time.time()
m = imaplib.IMAP4('127.0.0.1', P('FILEIMAP'))
m.login('carol@localhost', 'pw-carol')
m.logout()
flogin = time.time() - t1
assert flogin < 2, 'passwd-file login took %.1fs' % flogin
t1 = time.time()
s = smtplib.SMTP('127.0.0.1', P('FILESMTP'))
s.ehlo()
s.mail('x@example.org')
code, msg = s.rcpt('info@alias.example.org')
rcpt = time.time() - t1
s.quit()
assert code == 451 and b'4.3.0' in msg, (code, msg)
assert rcpt < 15, 'RCPT took %.1fs' % rcpt
for th in threads: th.join(30)
assert 'UNAVAILABLE' in results.get('imap', ''), results
assert results['imap_t'] < 15, results
assert 'SYS/TEMP' in results.get('pop3', '') or 'TEMP' in results.get('pop3', ''), results
assert '454' in results.get('smtp', '') and '4.7.0' in results['smtp'], results
print('OK', results, 'greeting %.2fs passwd-file login %.2fs rcpt %.2fs' % (greet, flogin, rcpt))
`, env...)
	if !strings.Contains(out, "OK") {
		t.Fatalf("python:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}
