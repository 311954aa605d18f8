package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImaplibACL: through the fullserver, Python's imaplib sets, reads
// and deletes ACL entries (RFC 4314); they land in Dovecot's
// dovecot-acl file of the mailbox's Maildir++ folder, and a mailbox
// whose owner took its own read right away cannot be selected.
func TestImaplibACL(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("bob")
	in.start()
	out := in.python(pyPrelude+`
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
typ, caps = m.capability()
assert b'ACL' in caps[0].split() and b'RIGHTS=texk' in caps[0].split(), caps
print('MYRIGHTS', m.myrights('INBOX'))
m.create('Shared')
typ, dat = m.setacl('Shared', 'carol', 'lrs')
assert typ == 'OK', dat
print('GETACL', m.getacl('Shared'))
imaplib.Commands['LISTRIGHTS'] = ('AUTH', 'SELECTED')
typ, dat = m._simple_command('LISTRIGHTS', 'Shared', 'carol')
print('LISTRIGHTS', m._untagged_response(typ, dat, 'LISTRIGHTS'))
typ, dat = m.setacl('Shared', 'owner', 'la')
assert typ == 'OK', dat
print('OWNER', m.myrights('Shared'))
typ, dat = m.select('Shared')
print('SELECT', typ, dat)
typ, dat = m.deleteacl('Shared', 'owner')
assert typ == 'OK', dat
typ, dat = m.select('Shared')
print('SELECT2', typ, dat)
m.logout()
print('OK')
`, "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{
		"MYRIGHTS ('OK', [b'INBOX lrwstipekxacd'])",
		"GETACL ('OK', [b'Shared carol lrs bob@localhost lrwstipekxacd'])",
		`LISTRIGHTS ('OK', [b'Shared carol "" l r w s t p i e k x a c d'])`,
		"OWNER ('OK', [b'Shared la'])",
		"SELECT NO [b'[NOPERM]",
		"SELECT2 OK [b'0']",
		"OK",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(filepath.Join(in.data, "mail", "localhost", "bob", "Maildir", ".Shared", "dovecot-acl"))
	if err != nil || string(data) != "user=carol lrs\n" {
		t.Errorf("dovecot-acl: %q, %v", data, err)
	}
}
