package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// ldapConf writes seed 003 §1.2's dovecot-ldap.conf.ext for s (a DN
// search as the service account, then an auth bind as the user, over
// LDAPS with the certificate checked) into a directory the unprivileged
// server can read.
func ldapConf(t *testing.T, s *testutil.Slapd) string {
	t.Helper()
	path := filepath.Join(testutil.SharedDir(t), "dovecot-ldap.conf.ext")
	conf := fmt.Sprintf(`# seed 003 §1.2.4
dn = %s
dnpass = %s
pass_filter = (&(objectClass=posixAccount)(uid=%%n))
auth_bind = yes
uris = %s
tls_ca_cert_file = %s
tls_require_cert = hard
base = ou=People,dc=example,dc=com
scope = onelevel
user_filter = (&(objectClass=posixAccount)(uid=%%n))
`, testutil.SlapdServiceDN, testutil.SlapdServicePW, s.LDAPSURL, s.CAFile)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// reconfigure rewrites the instance's main.cf with extra settings that
// may name its data directory.
func (in *instance) reconfigure(extra string) {
	in.t.Helper()
	if err := os.WriteFile(in.cfg, []byte(testConfig(in.t, in.data, extra)), 0o644); err != nil {
		in.t.Fatal(err)
	}
}

// TestSlapdFullserverLogins: with passdb and userdb = ldap: (seed 003's
// settings and override_fields), users of the directory submit mail
// (AUTH after STARTTLS), read it over IMAP and POP3; a wrong password
// and filter metacharacters in the user name are refused.
func TestSlapdFullserverLogins(t *testing.T) {
	t.Parallel()
	s := testutil.SharedSlapd(t)
	conf := ldapConf(t, s)
	in := newInstance(t, "")
	in.reconfigure(fmt.Sprintf("passdb = ldap:%s\nuserdb = ldap:%s uid=nobody gid=nogroup home=%s/mail/%%n/\nmail_location = maildir:~/Maildir\nauth_cache_size = 1M\nlogin_trusted_networks = 127.0.0.1/32\n",
		conf, conf, in.data))
	os.MkdirAll(in.data, 0o755)
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.ehlo()
try:
    s.login('alice', 'wrong')
    sys.exit('wrong password accepted')
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535, e
s.login('alice', 'alice-secret')
s.sendmail('alice@localhost', ['bob@localhost'], 'From: alice@localhost\r\nTo: bob@localhost\r\nSubject: ldap users\r\n\r\nhello bob\r\n')
s.quit()
md = os.path.join(os.environ['MAIL'], 'bob', 'Maildir')
end = time.time() + 10
while time.time() < end and len(glob.glob(md + '/new/*') + glob.glob(md + '/cur/*')) < 1:
    time.sleep(0.02)

m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
for user, pw in (('bob', 'wrong'), ('*', 'bob pw'), ('*)(uid=*', 'bob pw'), ('carol', 'carol-secret')):
    try:
        m.login('"%s"' % user, pw)
        sys.exit('IMAP login accepted for %r' % user)
    except imaplib.IMAP4.error as e:
        assert 'AUTHENTICATIONFAILED' in str(e), e
m.login('bob', 'bob pw')
typ, data = m.select('INBOX')
assert data[0] == b'1', data
typ, data = m.fetch('1', '(BODY.PEEK[])')
assert b'hello bob' in data[0][1], data
m.logout()

p = poplib.POP3('127.0.0.1', P('POP3'))
p.stls(context=ctx)
p.user('bob')
p.pass_('bob pw')
count, size = p.stat()
assert count == 1, count
p.quit()
p = poplib.POP3('127.0.0.1', P('POP3'))
p.stls(context=ctx)
p.user('bob')
try:
    p.pass_('alice-secret')
    sys.exit('POP3 wrong password accepted')
except poplib.error_proto as e:
    pass
print('OK')
`, "SUB="+strconv.Itoa(in.ports["submission"]), "IMAP="+strconv.Itoa(in.ports["imap"]), "POP3="+strconv.Itoa(in.ports["pop3"]))
	if !strings.Contains(out, "OK") {
		t.Fatalf("python output:\n%s", out)
	}
	// override_fields put bob's mail under <data>/mail/bob/, not in the
	// directory's /home/bob.
	if m, _ := filepath.Glob(filepath.Join(in.data, "mail", "bob", "Maildir", "*", "*")); len(m) == 0 {
		t.Errorf("no message under %s/mail/bob/Maildir", in.data)
	}
}

// imapLogin logs in over plain IMAP and returns the tagged answer and
// how long it took.
func imapLogin(addr, user, pw string) (string, time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		return "", 0, err
	}
	fmt.Fprintf(c, "a LOGIN %q %q\r\n", user, pw)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", time.Since(start), err
		}
		if strings.HasPrefix(l, "a ") {
			return strings.TrimSpace(l), time.Since(start), nil
		}
	}
}

// TestSlapdFullserverHungDirectory: with passdb = passwd-file, ldap and
// a directory that stops answering, passwd-file users still log in at
// once while directory users wait; those get NO [UNAVAILABLE] within
// the timeout, never a wrong-password answer, and log in again once the
// directory is back.
func TestSlapdFullserverHungDirectory(t *testing.T) {
	t.Parallel()
	s := testutil.StartSlapd(t)
	conf := ldapConf(t, s)
	in := newInstance(t, "")
	in.reconfigure(fmt.Sprintf("passdb = passwd-file:%s/passwd, ldap:%s\ndisable_plaintext_auth = no\nlogin_trusted_networks = 127.0.0.1/32\n", in.data, conf))
	os.MkdirAll(in.data, 0o755)
	in.addUsers("paul")
	in.start()
	imap := in.addr("imap")
	if a, _, err := imapLogin(imap, "alice", "alice-secret"); err != nil || !strings.Contains(a, "a OK") {
		t.Fatalf("alice before the freeze: %q, %v", a, err)
	}
	s.Freeze()
	defer s.Thaw()
	var wg sync.WaitGroup
	ldapAnswers := make([]string, 12)
	ldapTook := make([]time.Duration, 12)
	for i := range ldapAnswers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ldapAnswers[i], ldapTook[i], _ = imapLogin(imap, "bob", "bob pw")
		}()
	}
	time.Sleep(200 * time.Millisecond) // the directory logins are waiting
	for range 3 {
		a, took, err := imapLogin(imap, "paul@localhost", "pw-paul")
		if err != nil || !strings.Contains(a, "a OK") || took > 3*time.Second { // the directory's timeout is 5s
			t.Errorf("passwd-file login while the directory hangs: %q in %v, %v", a, took, err)
		}
	}
	wg.Wait()
	for i, a := range ldapAnswers {
		if !strings.Contains(a, "NO [UNAVAILABLE]") || ldapTook[i] > 15*time.Second {
			t.Errorf("directory login %d while it hangs: %q in %v; want NO [UNAVAILABLE] within the timeout", i, a, ldapTook[i])
		}
	}
	s.Thaw()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, _, err := imapLogin(imap, "bob", "bob pw")
		if err == nil && strings.Contains(a, "a OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob after the thaw: %q, %v", a, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSlapdFullserverLDAPAliases: virtual_alias_maps = ldap: (seed 003
// §2.5, with nisMailAlias entries) expands postmaster@localhost to the
// local users the directory names.
func TestSlapdFullserverLDAPAliases(t *testing.T) {
	t.Parallel()
	s := testutil.SharedSlapd(t)
	cf := filepath.Join(testutil.SharedDir(t), "ldap-aliases.cf")
	if err := os.WriteFile(cf, []byte("server_host = "+s.LDAPURL+"\nsearch_base = ou=Aliases,dc=example,dc=com\nversion = 3\n"+
		"domain = localhost\nquery_filter = (&(objectClass=nisMailAlias)(cn=%u))\nresult_attribute = rfc822MailMember\nresult_format = %u@localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, "virtual_alias_maps = ldap:"+cf+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('someone@example.net', ['postmaster@localhost'], 'From: someone@example.net\r\nTo: postmaster@localhost\r\nSubject: alias\r\n\r\nvia ldap\r\n')
try:
    s.sendmail('someone@example.net', ['nobody@localhost'], 'Subject: x\r\n\r\nx\r\n')
    sys.exit('nobody@localhost accepted')
except smtplib.SMTPRecipientsRefused as e:
    print('refused', e)
s.quit()
wait_mail('alice', 1)
wait_mail('bob', 1)
print('OK')
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !strings.Contains(out, "OK") {
		t.Fatalf("python output:\n%s", out)
	}
	for _, u := range []string{"alice", "bob"} {
		m, _ := filepath.Glob(filepath.Join(in.data, "mail", "localhost", u, "Maildir", "new", "*"))
		if len(m) != 1 {
			t.Errorf("%s: %d messages in new/, want 1 (postmaster@localhost through the ldap: aliases)", u, len(m))
		}
	}
}

// TestSlapdFullserverRootOnlyConf: seed 003 makes dovecot-ldap.conf.ext
// "chown root:root; chmod 600" (it holds the service account's
// password). Started as root, the server reads it before dropping to
// mail_owner, as Dovecot's auth process can; directory users log in,
// and still do after a SIGHUP, when the file can no longer be read
// (the start-up copy is used, with a warning). Before, the server
// refused to start: it read the file as mail_owner.
func TestSlapdFullserverRootOnlyConf(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the server must start as root and drop privileges")
	}
	s := testutil.SharedSlapd(t)
	conf := ldapConf(t, s)
	if err := os.Chmod(conf, 0o600); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, "")
	in.reconfigure(fmt.Sprintf("passdb = ldap:%s\nuserdb = ldap:%s uid=nobody gid=nogroup home=%s/mail/%%n/\nmail_location = maildir:~/Maildir\nlogin_trusted_networks = 127.0.0.1/32\n",
		conf, conf, in.data))
	os.MkdirAll(in.data, 0o755)
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	in.start()
	addr := in.addr("imap")
	if ans, _, err := imapLogin(addr, "bob", "bob pw"); err != nil || !strings.Contains(ans, "a OK") {
		t.Fatalf("LDAP login with a root-only settings file: %q %v\n%s", ans, err, in.errText())
	}
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(in.errText(), "reload:") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(in.errText(), "readable only by root: using the copy read at start-up") {
		t.Errorf("no warning about the start-up copy after SIGHUP:\n%s", in.errText())
	}
	if ans, _, err := imapLogin(addr, "bob", "bob pw"); err != nil || !strings.Contains(ans, "a OK") {
		t.Errorf("LDAP login after SIGHUP: %q %v\n%s", ans, err, in.errText())
	}
	if ans, _, _ := imapLogin(addr, "bob", "wrong"); strings.Contains(ans, "a OK") {
		t.Errorf("wrong password accepted: %q", ans)
	}
}
