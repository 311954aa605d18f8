package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestSmtplibBURL: through the fullserver, alice appends a message with
// two parts over IMAP (Python's imaplib), signs a "submit+" URL of its
// second part with GENURLAUTH, and sends a message to bob on the
// submission port with Python's smtplib whose header comes by BDAT and
// whose body is that part, by BURL (RFC 4468). BURL imap is offered only
// after AUTH; a forged token, a URL without URLAUTH, one for another
// submitter, a malformed URL and a BURL before RCPT are refused with
// RFC 4468's codes; bob's delivered message holds the part's bytes.
func TestSmtplibBURL(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
imaplib.Commands['GENURLAUTH'] = ('AUTH', 'SELECTED')
part = b'Content-Type: text/plain\r\n\r\nthe attached part, byte for byte: \xe2\x9c\x93\r\n'
msg = (b'Subject: draft\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n'
       b'--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\n' + part + b'--b--\r\n')
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
m.append('INBOX', None, None, msg)
typ, dat = m.select('INBOX')
uv = m.untagged_responses.get('UIDVALIDITY', [b'0'])[0].decode()
base = 'imap://alice%40localhost@localhost/INBOX;UIDVALIDITY=' + uv + '/;UID=1/;SECTION=2'
def gen(rump):
    typ, dat = m._simple_command('GENURLAUTH', '"' + rump + '"', 'INTERNAL')
    assert typ == 'OK', dat
    return m._untagged_response(typ, dat, 'GENURLAUTH')[1][0].decode().strip('"')
url = gen(base + ';URLAUTH=submit+alice%40localhost')
other = gen(base + ';URLAUTH=submit+bob%40localhost')
typ, dat = m.fetch('1', '(BODY.PEEK[2])')
want = b'the attached part, byte for byte: \xe2\x9c\x93'
assert dat[0][1] == want, dat
print('URL', url)

s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.ehlo()
print('PRE-AUTH BURL', s.has_extn('burl'))
print('PRE-AUTH CMD', s.docmd('BURL', url + ' LAST'))
s.login('alice@localhost', 'pw-alice')
s.ehlo()
print('EHLO BURL', repr(s.esmtp_features.get('burl')))
print('NO RCPT', s.docmd('BURL', url + ' LAST'))
s.mail('alice@localhost')
s.rcpt('bob@localhost')
forged = url[:-1] + ('0' if url[-1] != '0' else '1')
print('FORGED', s.docmd('BURL', forged + ' LAST'))
print('NOAUTH', s.docmd('BURL', base + ' LAST'))
print('OTHER', s.docmd('BURL', other + ' LAST'))
print('BAD', s.docmd('BURL', 'imap://nonsense LAST'))
hdr = b'From: alice@localhost\r\nTo: bob@localhost\r\nSubject: burl test\r\n\r\n'
s.send(b'BDAT ' + str(len(hdr)).encode() + b'\r\n' + hdr)
print('BDAT', s.getreply())
print('BURL', s.docmd('BURL', url + ' LAST'))
wait_mail('bob', 1)
s.quit()
b = imaplib.IMAP4('127.0.0.1', P('IMAP'))
b.starttls(ssl_context=ctx)
b.login('bob@localhost', 'pw-bob')
b.select('INBOX')
typ, dat = b.fetch('1', '(BODY.PEEK[])')
body = dat[0][1]
i = body.index(b'Subject: burl test\r\n')
print('DELIVERED-TAIL', body[i:].rstrip(b'\r\n') == hdr[hdr.index(b'Subject'):] + want, body[i:])
print('OK')
`, "SUB="+strconv.Itoa(in.ports["submission"]), "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{
		"PRE-AUTH BURL False",
		"PRE-AUTH CMD (530, b'5.7.0",
		"EHLO BURL 'imap'",
		"NO RCPT (503, b'5.5.0",
		"FORGED (554, b'5.6.6",
		"NOAUTH (554, b'5.7.8",
		"OTHER (554, b'5.7.8",
		"BAD (554, b'5.7.0",
		"BDAT (250,",
		"BURL (250,",
		"DELIVERED-TAIL True",
		"OK",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
