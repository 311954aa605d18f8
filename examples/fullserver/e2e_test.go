package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// python runs a Python 3 script with env and returns its output; the
// script fails the test by exiting non-zero.
func python(t *testing.T, script string, env ...string) string {
	t.Helper()
	py := testutil.RequireBinary(t, "python3")
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

// addUsers adds user@localhost entries with password "pw-<user>".
func (in *instance) addUsers(names ...string) {
	in.t.Helper()
	for _, n := range names {
		code, _, stderr := runCmd(in.t, "pw-"+n+"\n", "-config", in.cfg, "adduser", n+"@localhost")
		if code != 0 {
			in.t.Fatalf("adduser %s: %s", n, stderr)
		}
	}
	testutil.ChownTree(in.t, in.data, testutil.PlainUID, testutil.PlainGID)
}

const pyPrelude = `
import os, ssl, smtplib, imaplib, poplib, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
P = lambda name: int(os.environ[name])
import glob, time
def wait_mail(user, n, domain='localhost'):
    """Waits up to 10 s for user's Maildir to hold n messages: the queue
    delivers after the 250."""
    md = os.path.join(os.environ['MAIL'], domain, user, 'Maildir')
    end = time.time() + 10
    while time.time() < end and len(glob.glob(md + '/new/*') + glob.glob(md + '/cur/*')) < n:
        time.sleep(0.02)
`

// python runs a script as python does, with MAIL set to the instance's
// mail directory (for wait_mail).
func (in *instance) python(script string, env ...string) string {
	in.t.Helper()
	return python(in.t, script, append(env, "MAIL="+filepath.Join(in.data, "mail"))...)
}

// TestSmtplibSubmissionImaplibPoplib: a message submitted with Python's
// smtplib on the submission port (STARTTLS, then AUTH) arrives in the
// recipient's INBOX, where imaplib (STARTTLS and IMAPS) and poplib
// (STLS and POP3S) read it; the special-use folders are there and
// subscribed.
func TestSmtplibSubmissionImaplibPoplib(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.ehlo()
if s.has_extn('auth'):
    sys.exit('AUTH offered before STARTTLS')
s.starttls(context=ctx)
s.ehlo()
s.login('alice@localhost', 'pw-alice')
s.sendmail('alice@localhost', ['bob@localhost'], 'From: alice@localhost\r\nTo: bob@localhost\r\nSubject: e2e test\r\n\r\nhello bob\r\n')
wait_mail('bob', 1)
s.quit()

m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
typ, data = m.select('INBOX')
assert data[0] == b'1', data
typ, data = m.fetch('1', '(BODY.PEEK[])')
body = data[0][1].decode()
assert 'Subject: e2e test' in body and 'hello bob' in body, body
assert 'Return-Path: <alice@localhost>' in body, body
typ, boxes = m.list()
print('LIST', boxes)
typ, subs = m.lsub()
subs = b' '.join(subs).decode()
for box in ('Sent', 'Trash', 'Drafts', 'Junk'):
    assert box in subs, 'not subscribed: ' + box + ' in ' + subs
m.logout()

m = imaplib.IMAP4_SSL('127.0.0.1', P('IMAPS'), ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
typ, data = m.select('INBOX', readonly=True)
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

p = poplib.POP3_SSL('127.0.0.1', P('POP3S'), context=ctx)
p.user('bob@localhost')
p.pass_('pw-bob')
print('UIDL', p.uidl())
p.quit()
print('OK')
`, "SUB="+strconv.Itoa(in.ports["submission"]), "IMAP="+strconv.Itoa(in.ports["imap"]), "IMAPS="+strconv.Itoa(in.ports["imaps"]), "POP3="+strconv.Itoa(in.ports["pop3"]), "POP3S="+strconv.Itoa(in.ports["pop3s"]))
	if !strings.Contains(out, "OK") {
		t.Fatalf("python output:\n%s", out)
	}
	for _, box := range []string{`\Sent`, `\Trash`, `\Drafts`, `\Junk`} {
		if !strings.Contains(out, box) {
			t.Errorf("LIST lacks %s: %s", box, out)
		}
	}
	// Virtual-user layout: mail_location = maildir:<data>/mail/%d/%n/Maildir.
	if m, _ := filepath.Glob(filepath.Join(in.data, "mail", "localhost", "bob", "Maildir", "cur", "*")); len(m) != 1 {
		if n, _ := filepath.Glob(filepath.Join(in.data, "mail", "localhost", "bob", "Maildir", "new", "*")); len(n) != 1 {
			t.Errorf("message not in bob's Maildir: cur %v new %v", m, n)
		}
	}
	// The log line follows the delivery; under load it may come a
	// moment after the message is readable.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(in.errText(), "status=sent") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(in.errText(), "status=sent") {
		t.Errorf("no delivery log line:\n%s", in.errText())
	}
}
