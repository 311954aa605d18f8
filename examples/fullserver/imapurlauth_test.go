package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImaplibURLAuth: through the fullserver, alice signs a URL of one
// of her messages with GENURLAUTH (RFC 4467) and bob fetches it with
// URLFETCH, both with Python's imaplib; a forged token gets NIL, and
// after RESETKEY the URL is dead.
func TestImaplibURLAuth(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
for c in ('GENURLAUTH', 'URLFETCH', 'RESETKEY'):
    imaplib.Commands[c] = ('AUTH', 'SELECTED')
def login(u):
    m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
    m.starttls(ssl_context=ctx)
    m.login(u + '@localhost', 'pw-' + u)
    return m
a = login('alice')
typ, caps = a.capability()
assert b'URLAUTH' in caps[0].split(), caps
a.append('INBOX', None, None, b'Subject: shared\r\n\r\nfor bob\r\n')
typ, dat = a._simple_command('GENURLAUTH', '"imap://alice%40localhost@localhost/INBOX/;UID=1;URLAUTH=user+bob%40localhost"', 'INTERNAL')
assert typ == 'OK', dat
url = a._untagged_response(typ, dat, 'GENURLAUTH')[1][0].decode().strip('"')
print('URL', url)
b = login('bob')
def fetch(u):
    typ, dat = b._simple_command('URLFETCH', '"' + u + '"')
    assert typ == 'OK', dat
    return b._untagged_response(typ, dat, 'URLFETCH')[1]
print('FETCH', fetch(url))
forged = url[:-1] + ('0' if url[-1] != '0' else '1')
print('FORGED', fetch(forged))
typ, dat = a._simple_command('RESETKEY')
assert typ == 'OK', dat
print('RESET', fetch(url))
print('OK')
`, "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{"URL imap://alice%40localhost@localhost/INBOX/;UID=1;URLAUTH=user+bob%40localhost:INTERNAL:", "for bob", "FORGED [b'", "OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if (strings.HasPrefix(l, "FORGED") || strings.HasPrefix(l, "RESET")) && !strings.Contains(l, "NIL") {
			t.Errorf("refused URL served: %s", l)
		}
	}
}
