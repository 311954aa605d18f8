package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtplibAliasDeliversToBoth: "sysadmin: user1, user2" in alias_maps
// delivers one message to both users' INBOXes (seed 002).
func TestSmtplibAliasDeliversToBoth(t *testing.T) {
	t.Parallel()
	aliases := filepath.Join(testutil.SharedDir(t), "aliases")
	os.WriteFile(aliases, []byte("# seed 002\nsysadmin: user1, user2\n"), 0o644)
	in := newInstance(t, "alias_maps = texthash:"+aliases+"\nrecipient_delimiter = +\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("user1", "user2")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('someone@example.org', ['sysadmin@localhost', 'user1@localhost'], 'Subject: to the admins\r\n\r\ndisk full\r\n')
s.sendmail('someone@example.org', ['user2+lists@localhost'], 'Subject: detail\r\n\r\nrecipient_delimiter\r\n')
s.quit()
wait_mail('user1', 1)
wait_mail('user2', 2)
for u in ('user1', 'user2'):
    m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
    m.starttls(ssl_context=ctx)
    m.login(u + '@localhost', 'pw-' + u)
    typ, data = m.select('INBOX')
    print(u, data[0].decode())
    m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]))
	// user1 is reached twice (alias and directly) but gets one copy, as
	// Postfix suppresses duplicate deliveries; user2 also gets the
	// message to user2+lists (recipient_delimiter = +).
	if !strings.Contains(out, "user1 1") || !strings.Contains(out, "user2 2") {
		t.Fatalf("INBOX counts:\n%s", out)
	}
}

// TestSmtplibRelayPolicy: on port 25 a client outside mynetworks
// (127.0.0.2; mynetworks is 127.0.0.1/32) gets "554 5.7.1 ... Relay
// access denied" for a foreign domain, AUTH gets "503 5.5.1", an unknown
// local user gets 550 5.1.1; a client inside mynetworks may relay: its
// message is queued and relayed through relayhost (a Postfix smtp-sink
// on 127.0.0.1), and nothing from the outside client reaches it.
func TestSmtplibRelayPolicy(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'), source_address=('127.0.0.2', 0))
s.ehlo('outside.example.org')
assert not s.has_extn('auth'), 'AUTH offered on port 25'
print('AUTH', s.docmd('AUTH', 'PLAIN AGFsaWNlQGxvY2FsaG9zdABwdy1hbGljZQ=='))
s.mail('spammer@example.org')
print('FOREIGN', s.rcpt('victim@example.com'))
print('UNKNOWN', s.rcpt('nobody-here@localhost'))
print('LOCAL', s.rcpt('alice@localhost'))
s.quit()
s = smtplib.SMTP('127.0.0.1', P('SMTP'), source_address=('127.0.0.1', 0))
s.ehlo('inside.example.org')
s.mail('alice@localhost')
print('MYNETWORKS', s.rcpt('friend@example.com'))
s.data('Subject: relayed\r\n\r\nhello friend\r\n')
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	for _, want := range []string{
		"AUTH (503, b'5.5.1 Error: authentication not enabled')",
		"FOREIGN (554, b'5.7.1 <victim@example.com>: Relay access denied')",
		"UNKNOWN (550, b'5.1.1 <nobody-here@localhost>: Recipient address rejected: User unknown in local recipient table')",
		"LOCAL (250,",
		"MYNETWORKS (250,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	in.waitLog("to=<friend@example.com>, relay=127.0.0.1[127.0.0.1]:" + strconv.Itoa(sink.Port))
	msgs := sink.Messages(t)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "hello friend") || !strings.Contains(msgs[0], "friend@example.com") {
		t.Errorf("the sink got %q, want the one relayed message", msgs)
	}
	if strings.Contains(strings.Join(msgs, ""), "victim@example.com") {
		t.Errorf("the outside client's recipient reached the sink")
	}
	if !strings.Contains(in.errText(), "status=sent (250 ") {
		t.Errorf("no sent line:\n%s", in.errText())
	}
}

// TestImaplibSIGHUPPicksUpNewUser: a user added to the passwd file, an
// alias added to alias_maps and a new certificate are all in use after
// SIGHUP, and an open IMAP session survives it.
func TestImaplibSIGHUPPicksUpNewUser(t *testing.T) {
	t.Parallel()
	aliases := filepath.Join(testutil.SharedDir(t), "aliases")
	os.WriteFile(aliases, []byte("postmaster: alice\n"), 0o644)
	in := newInstance(t, "alias_maps = texthash:"+aliases+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	before := serverCert(t, in.addr("imaps"))
	// New certificate files and a new alias, read only on SIGHUP.
	cf, kf := filepath.Join(in.data, "tls", "cert.pem"), filepath.Join(in.data, "tls", "key.pem")
	if err := makeSelfSigned(cf, kf, "reloaded.example"); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	os.WriteFile(aliases, []byte("postmaster: alice\nteam: carol\n"), 0o644)
	script := pyPrelude + `
import signal, subprocess, time
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
m.select('INBOX')
subprocess.run([os.environ['BIN'], '-config', os.environ['CFG'], 'adduser', 'carol@localhost'], input=b'pw-carol\n', check=True)
os.chown(os.environ['PASSWD'], 65534, 65534)
os.kill(int(os.environ['PID']), signal.SIGHUP)
time.sleep(0.5)
print('NOOP', m.noop()[0])
m.logout()
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('x@example.org', ['team@localhost'], 'Subject: to the new alias\r\n\r\nhi\r\n')
s.quit()
wait_mail('carol', 1)
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
print('LOGIN', m.login('carol@localhost', 'pw-carol')[0])
print('EXISTS', m.select('INBOX')[1][0].decode())
m.logout()
`
	out := in.python(script, "IMAP="+strconv.Itoa(in.ports["imap"]), "SMTP="+strconv.Itoa(in.ports["smtp"]), "BIN="+binary, "CFG="+in.cfg,
		"PID="+strconv.Itoa(in.cmd.Process.Pid), "PASSWD="+filepath.Join(in.data, "passwd"))
	if !strings.Contains(out, "NOOP OK") || !strings.Contains(out, "LOGIN OK") || !strings.Contains(out, "EXISTS 1") {
		t.Fatalf("output:\n%s", out)
	}
	if after := serverCert(t, in.addr("imaps")); after.Subject.CommonName != "reloaded.example" || after.Equal(before) {
		t.Errorf("certificate after SIGHUP: %s (before: %s)", after.Subject, before.Subject)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(in.errText(), "reload:") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(in.errText(), "reload: configuration, certificates, users and tables re-read") {
		t.Errorf("no reload log line:\n%s", in.errText())
	}
}

// serverCert returns the certificate a TLS listener presents.
func serverCert(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// TestSmtplibHeaderChecks: seed 000's header_checks rule
// "/^Received: from .*spam-net.com/ REJECT" refuses a message at the end
// of DATA with Postfix's cleanup reply, and a clean message still gets
// through to the INBOX.
func TestSmtplibHeaderChecks(t *testing.T) {
	t.Parallel()
	checks := filepath.Join(testutil.SharedDir(t), "header_checks")
	os.WriteFile(checks, []byte("/^Received: from .*spam-net.com/ REJECT\n"), 0o644)
	in := newInstance(t, "header_checks = regexp:"+checks+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('client.example.org')
try:
    s.sendmail('a@example.org', ['alice@localhost'], 'Received: from mx.spam-net.com by relay\r\nSubject: spam\r\n\r\nbuy\r\n')
    print('SPAM accepted')
except smtplib.SMTPDataError as e:
    print('SPAM', e.smtp_code, e.smtp_error.decode())
s.sendmail('a@example.org', ['alice@localhost'], 'Received: from mx.example.org by relay\r\nSubject: ham\r\n\r\nhello\r\n')
s.quit()
wait_mail('alice', 1)
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
typ, data = m.select('INBOX')
print('INBOX', data[0].decode())
m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]))
	if !strings.Contains(out, "SPAM 550 5.7.1 message content rejected") || !strings.Contains(out, "INBOX 1") {
		t.Fatalf("header_checks through the full server:\n%s", out)
	}
}

// TestSmtplibMIMEHeaderChecks: the fullserver inspects mail MIME part by
// MIME part as Postfix's cleanup does: mime_header_checks refuses an
// attachment by its Content-Type, body_checks finds a line in the
// second part, and a clean multipart message still reaches the INBOX.
func TestSmtplibMIMEHeaderChecks(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedDir(t)
	mh := filepath.Join(dir, "mime_header_checks")
	os.WriteFile(mh, []byte("/^Content-Type:.*application\\/x-msdownload/ REJECT executable attachment\n"), 0o644)
	bc := filepath.Join(dir, "body_checks")
	os.WriteFile(bc, []byte("/^the payload$/ REJECT payload found\n"), 0o644)
	in := newInstance(t, "mime_header_checks = regexp:"+mh+"\nbody_checks = regexp:"+bc+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
def multipart(ctype, text):
    return ('MIME-Version: 1.0\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        '--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
        '--b1\r\nContent-Type: ' + ctype + '\r\n\r\n' + text + '\r\n--b1--\r\n')
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('client.example.org')
for name, msg in [('EXE', multipart('application/x-msdownload; name="a.exe"', 'TVqQ')),
                  ('BODY', multipart('text/plain', 'the payload')),
                  ('CLEAN', multipart('text/plain', 'nothing to see'))]:
    try:
        s.sendmail('a@example.org', ['alice@localhost'], msg)
        print(name, 'accepted')
    except smtplib.SMTPDataError as e:
        print(name, e.smtp_code, e.smtp_error.decode())
s.quit()
wait_mail('alice', 1)
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	for _, want := range []string{"EXE 550 5.7.1 executable attachment", "BODY 550 5.7.1 payload found", "CLEAN accepted"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
