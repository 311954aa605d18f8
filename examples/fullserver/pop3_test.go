package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPoplibLockSessionNoFlagUpdates: with pop3_lock_session = yes a
// second poplib login of a user whose POP3 session is open gets
// [IN-USE], and gets in once the first has quit; with
// pop3_no_flag_updates = yes the retrieved message does not become
// \Seen (its file name keeps no S flag).
func TestPoplibLockSessionNoFlagUpdates(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "pop3_lock_session = yes\npop3_no_flag_updates = yes\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.login('alice@localhost', 'pw-alice')
s.sendmail('alice@localhost', ['bob@localhost'], 'From: alice@localhost\r\nTo: bob@localhost\r\nSubject: lock\r\n\r\nhello\r\n')
s.quit()
wait_mail('bob', 1)

first = poplib.POP3_SSL('127.0.0.1', P('POP3S'), context=ctx)
first.user('bob@localhost')
first.pass_('pw-bob')
second = poplib.POP3_SSL('127.0.0.1', P('POP3S'), context=ctx)
second.user('bob@localhost')
try:
    second.pass_('pw-bob')
    sys.exit('a second session logged in while the first held the lock')
except poplib.error_proto as e:
    assert b'[IN-USE]' in e.args[0], e
    print('REFUSED', e.args[0].decode())
resp, lines, octets = first.retr(1)
assert b'hello' in lines, lines
first.quit()
third = poplib.POP3_SSL('127.0.0.1', P('POP3S'), context=ctx)
third.user('bob@localhost')
third.pass_('pw-bob')
third.quit()
print('OK')
`, "SUB="+strconv.Itoa(in.ports["submission"]), "POP3S="+strconv.Itoa(in.ports["pop3s"]))
	if !strings.Contains(out, "OK") || !strings.Contains(out, "REFUSED") {
		t.Fatalf("python output:\n%s", out)
	}
	box := filepath.Join(in.data, "mail", "localhost", "bob", "Maildir")
	files, _ := filepath.Glob(filepath.Join(box, "cur", "*"))
	more, _ := filepath.Glob(filepath.Join(box, "new", "*"))
	files = append(files, more...)
	if len(files) != 1 {
		t.Fatalf("bob's Maildir holds %v", files)
	}
	if _, flags, _ := strings.Cut(filepath.Base(files[0]), ":2,"); strings.Contains(flags, "S") {
		t.Errorf("retrieved message became \\Seen with pop3_no_flag_updates: %s", files[0])
	}
}
