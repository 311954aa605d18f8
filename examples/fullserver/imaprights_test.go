package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestImaplibACLMessageRights: Python's imaplib through the fullserver
// meets the ACL message rights: a mailbox the owner left only "lr" on
// is read-only to SELECT (imaplib refuses to treat it as writable),
// with "lrs" \Seen is kept but \Deleted and keywords are not, APPEND
// needs "i", and EXPUNGE without "e" removes nothing.
func TestImaplibACLMessageRights(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	in.addUsers("bob")
	in.start()
	out := in.python(pyPrelude+`
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('bob@localhost', 'pw-bob')
m.create('Ro')
typ, dat = m.append('Ro', '(\\Deleted)', None, b'Subject: one\r\n\r\nbody\r\n')
assert typ == 'OK', dat
assert m.setacl('Ro', 'owner', 'lr')[0] == 'OK'
try:
    m.select('Ro')
    print('WRITABLE')
except imaplib.IMAP4.readonly as e:
    print('READONLY', e)
    m.untagged_responses.pop('READ-ONLY', None) # imaplib keeps it
assert m.setacl('Ro', 'owner', 'lrs')[0] == 'OK'
typ, dat = m.select('Ro')
print('SELECT', typ, dat, m.response('PERMANENTFLAGS'))
typ, dat = m.store('1', '+FLAGS', '(\\Seen \\Flagged $Work)')
print('STORE', typ)
typ, dat = m.store('1', '-FLAGS', '(\\Deleted)')
print('FETCH', m.fetch('1', '(FLAGS)'))
typ, dat = m.expunge()
print('EXPUNGE', typ, dat)
typ, dat = m.append('Ro', None, None, b'Subject: two\r\n\r\nbody\r\n')
print('APPEND', typ, dat)
print('STATUS', m.status('Ro', '(MESSAGES)'))
m.logout()
print('OK')
`, "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{
		"READONLY",
		"SELECT OK [b'1'] ('PERMANENTFLAGS', [b'(\\\\Seen)'])",
		"STORE OK",
		"FETCH ('OK', [b'1 (FLAGS (\\\\Deleted \\\\Seen))'])",
		"EXPUNGE OK [None]",
		"APPEND NO [b'[NOPERM] Permission denied.']",
		"STATUS ('OK', [b'\"Ro\" (MESSAGES 1)'])",
		"OK",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
