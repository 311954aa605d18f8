package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestMariaDBFullserverChain: "passdb = passwd-file:..., sql:..." logs in
// users of both; while the database hangs, passwd-file users still log
// in at once and SQL users get NO [UNAVAILABLE].
func TestMariaDBFullserverChain(t *testing.T) {
	t.Parallel()
	m := testutil.StartMariaDB(t)
	connect := m.CreateDatabase(t, "dovecotDB", "dovecotPW")
	m.Exec(t, "dovecotDB", sqlUsersTable(t))
	conf := seedSQLConf(t, testutil.SharedDir(t), "mysql", connect)
	in := newInstance(t, "")
	extra := fmt.Sprintf("passdb = passwd-file:%s/passwd, sql:%s\nlogin_trusted_networks = 127.0.0.0/8\n", in.data, conf)
	if err := os.WriteFile(in.cfg, []byte(testConfig(t, in.data, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(in.data, 0o755)
	in.addUsers("carol")
	in.start()
	env := "IMAP=" + strconv.Itoa(in.ports["imap"])
	in.python(pyPrelude+`
for user, pw in (('carol@localhost', 'pw-carol'), ('bob@localhost', 'pw-bob')):
    m = imaplib.IMAP4('127.0.0.1', P('IMAP')); m.login(user, pw); m.logout()
`, env)
	resume := m.Suspend(t)
	defer resume()
	out := in.python(pyPrelude+`
t0 = time.time()
m = imaplib.IMAP4('127.0.0.1', P('IMAP')); m.login('carol@localhost', 'pw-carol'); m.logout()
carol = time.time() - t0
assert carol < 2, 'passwd-file login took %.1fs while the database hangs' % carol
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
try:
    m.login('bob@localhost', 'pw-bob')
    sys.exit('bob logged in')
except imaplib.IMAP4.error as e:
    assert 'UNAVAILABLE' in str(e), e
print('OK carol %.2fs' % carol)
`, env)
	if !strings.Contains(out, "OK") {
		t.Fatalf("python:\n%s", out)
	}
	t.Log(strings.TrimSpace(out))
}
