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

// TestSmtplibSdboxImaplibPoplib: with mail_location = sdbox:.../%d/%n/
// (seed 003's form), messages sent with smtplib and over LMTP land in the recipient's
// sdbox INBOX; imaplib reads them and sets flags,
// poplib lists them with UIDLs in the %08Xu%08Xv form; a real Dovecot
// pointed at the same location sees the same UIDs and flags.
func TestSmtplibSdboxImaplibPoplib(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	loc := "sdbox:" + filepath.Join(in.data, "sdbox") + "/%d/%n/"
	cfg, _ := os.ReadFile(in.cfg)
	os.WriteFile(in.cfg, append(cfg, []byte("mail_location = "+loc+"\n")...), 0o644)
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	inbox := filepath.Join(in.data, "sdbox", "localhost", "bob", "mailboxes", "INBOX", "dbox-Mails")
	out := in.python(pyPrelude+`
import glob
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
for i in range(5):
    s.sendmail('alice@localhost', ['bob@localhost'], 'From: alice@localhost\r\nTo: bob@localhost\r\nSubject: sdbox %d\r\n\r\nhello bob %d\r\n' % (i, i))
s.quit()
end = time.time() + 10
while time.time() < end and len(glob.glob(os.environ['INBOX'] + '/u.*')) < 5:
    time.sleep(0.02)
l = smtplib.LMTP(os.environ['LMTP'])
l.sendmail('alice@localhost', ['bob@localhost'], 'From: alice@localhost\r\nSubject: over lmtp\r\n\r\nhi\r\n')
l.quit()
assert len(glob.glob(os.environ['INBOX'] + '/u.*')) == 6, 'LMTP delivery not in place at its 250'

m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.login('bob@localhost', 'pw-bob')
typ, data = m.select('INBOX')
assert data[0] == b'6', data
subjects = set()
for i in range(1, 6):
    typ, data = m.uid('FETCH', str(i), '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    subjects.add(data[0][1].strip())
assert subjects == set(('Subject: sdbox %d' % i).encode() for i in range(5)), subjects
typ, data = m.uid('FETCH', '6', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
assert b'over lmtp' in data[0][1], data
typ, data = m.fetch('1', '(BODY[])')
assert b'hello bob' in data[0][1], data
m.uid('STORE', '2', '+FLAGS', '(\\Flagged $Important)')
typ, data = m.status('INBOX', '(UIDVALIDITY UIDNEXT MESSAGES)')
print('STATUS', data[0].decode())
typ, boxes = m.list()
print('LIST', boxes)
m.logout()

p = poplib.POP3('127.0.0.1', P('POP3'))
p.user('bob@localhost')
p.pass_('pw-bob')
count, size = p.stat()
assert count == 6, count
resp, lines, octets = p.retr(3)
assert b'hello bob' in b''.join(lines), lines
resp, uidls, octets = p.uidl()
for l in uidls:
    print('UIDL', l.decode())
p.quit()
print('OK')
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]), "POP3="+strconv.Itoa(in.ports["pop3"]), "INBOX="+inbox, "LMTP="+filepath.Join(in.data, "lmtp.sock"))
	if !strings.Contains(out, "OK") {
		t.Fatalf("python output:\n%s\nserver:\n%s", out, in.errText())
	}
	var uidv uint64
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "UIDVALIDITY "); i >= 0 {
			uidv, _ = strconv.ParseUint(strings.Fields(l[i+12:])[0], 10, 32)
		}
	}
	for i := 1; i <= 6; i++ {
		want := fmt.Sprintf("UIDL %d %08x%08x", i, i, uidv) // Dovecot writes %X in lower case
		if uidv == 0 || !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(out, `\Sent`) {
		t.Errorf("auto mailboxes missing: %s", out)
	}

	// Dovecot on the same location.
	d := testutil.StartDovecot(t, testutil.DovecotConfig{MailLocation: loc})
	testutil.ChownTree(t, filepath.Join(in.data, "sdbox"), testutil.PlainUID, testutil.PlainGID)
	got := d.Doveadm(t, nil, "-f", "flow", "fetch", "-u", "bob@localhost", "uid flags", "mailbox", "INBOX", "all")
	for i := 1; i <= 5; i++ {
		if !strings.Contains(got, fmt.Sprintf("uid=%d ", i)) {
			t.Errorf("dovecot lacks UID %d:\n%s", i, got)
		}
	}
	// UID 1 was read over IMAP, 3 over POP3 (\Seen); 2 got STORE +FLAGS.
	// yubin's IMAP session took them as \Recent (first_recent_uid), so
	// Dovecot shows none \Recent.
	if !strings.Contains(got, "uid=1 flags=\\Seen\n") || !strings.Contains(got, "uid=3 flags=\\Seen\n") || !strings.Contains(got, "uid=2 flags=\\Flagged $Important\n") {
		t.Errorf("dovecot flags:\n%s", got)
	}
	if st := d.Doveadm(t, nil, "mailbox", "status", "-u", "bob@localhost", "uidvalidity", "INBOX"); !strings.Contains(st, strconv.FormatUint(uidv, 10)) {
		t.Errorf("dovecot uidvalidity %q, yubin %d", st, uidv)
	}
}
