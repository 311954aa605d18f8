package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMboxMailLocation: with seed 002's mail_location =
// mbox:~/mail:INBOX=/var/mail/%u (the spool moved under the data
// directory), mail submitted over SMTP lands in the spool file, IMAP
// reads, flags and copies it into a folder under
// ~/mail, and POP3's UIDLs (%08Xu%08Xv) are the same after a restart.
func TestMboxMailLocation(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	data := in.data
	extra := "mail_location = mbox:~/mail:INBOX=" + data + "/spool/%n\nuserdb = static: home=" + data + "/home/%n\n"
	if err := os.WriteFile(in.cfg, []byte(testConfig(t, data, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	env := []string{"SUB=" + strconv.Itoa(in.ports["submission"]), "IMAP=" + strconv.Itoa(in.ports["imap"]), "POP3=" + strconv.Itoa(in.ports["pop3"])}
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.login('alice@localhost', 'pw-alice')
for i in range(3):
    s.sendmail('alice@localhost', ['bob@localhost'], 'From: alice@localhost\r\nTo: bob@localhost\r\nSubject: mbox %d\r\n\r\nhello bob %d\r\n\r\nFrom the middle of a body\r\n' % (i, i))
s.quit()

m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
end = time.time() + 10
while time.time() < end:
    typ, data = m.status('INBOX', '(MESSAGES)')
    if b'MESSAGES 3' in data[0]:
        break
    time.sleep(0.05)
typ, data = m.select('INBOX')
assert data[0] == b'3', data
seen = set()
for uid in (1, 2, 3):
    typ, data = m.uid('fetch', str(uid), '(BODY.PEEK[])')
    body = data[0][1].decode()
    seen.update(i for i in range(3) if ('Subject: mbox %d' % i) in body)
    assert body.endswith('\r\n\r\nFrom the middle of a body\r\n'), body
    assert 'X-UID' not in body and 'Content-Length' not in body, body
assert seen == {0, 1, 2}, seen
typ, data = m.uid('store', '1', '+FLAGS', '(\\Seen $Important)')
assert typ == 'OK', data
typ, data = m.uid('copy', '2', 'Sent')
assert typ == 'OK', data
typ, boxes = m.list()
print('LIST', boxes)
m.logout()

p = poplib.POP3('127.0.0.1', P('POP3'))
p.stls(context=ctx)
p.user('bob@localhost')
p.pass_('pw-bob')
count, size = p.stat()
assert count == 3, count
print('UIDL', p.uidl()[1])
p.quit()
print('OK')
`, env...)
	if !strings.Contains(out, "OK") {
		t.Fatalf("python output:\n%s", out)
	}
	uidls := regexp.MustCompile(`UIDL (.*)`).FindStringSubmatch(out)[1]
	if !regexp.MustCompile(`b'1 00000001[0-9a-fA-F]{8}', b'2 00000002[0-9a-fA-F]{8}', b'3 00000003[0-9a-fA-F]{8}'`).MatchString(uidls) {
		t.Errorf("UIDLs %s", uidls)
	}
	spool, err := os.ReadFile(filepath.Join(data, "spool", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(spool), "\nX-UID: "); n != 3 || !strings.HasPrefix(string(spool), "From ") || !strings.Contains(string(spool), "X-IMAPbase: ") || !strings.Contains(string(spool), "X-Keywords: $Important") {
		t.Errorf("spool file:\n%s", spool)
	}
	if sent, err := os.ReadFile(filepath.Join(data, "home", "bob", "mail", "Sent")); err != nil || !strings.Contains(string(sent), "Subject: mbox ") {
		t.Errorf("~/mail/Sent: %v\n%s", err, sent)
	}

	// Restart: the same UIDLs.
	in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		t.Fatal("fullserver did not stop")
	}
	in2 := &instance{t: t, data: data, cfg: in.cfg, ports: map[string]int{}, done: make(chan struct{})}
	in2.start()
	out = in2.python(pyPrelude+`
p = poplib.POP3('127.0.0.1', P('POP3'))
p.stls(context=ctx)
p.user('bob@localhost')
p.pass_('pw-bob')
print('UIDL', p.uidl()[1])
p.quit()
`, "POP3="+strconv.Itoa(in2.ports["pop3"]))
	if again := regexp.MustCompile(`UIDL (.*)`).FindStringSubmatch(out); again == nil || again[1] != uidls {
		t.Errorf("UIDLs after restart %q, before %s", out, uidls)
	}
}
