package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImaplibAppendLimitIsMessageSizeLimit: the IMAP listener advertises
// message_size_limit as APPENDLIMIT and refuses a larger APPEND before
// its literal is sent (imaplib sees NO [TOOBIG] without a continuation).
func TestImaplibAppendLimitIsMessageSizeLimit(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "message_size_limit = 20000\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
caps = m.capability()[1][0].decode().split()
print('CAPS', ' '.join(c for c in caps if c.startswith('APPENDLIMIT')))
print('SMALL', m.append('INBOX', None, None, b'Subject: small\r\n\r\n' + b'x' * 1000 + b'\r\n')[0])
try:
    print('BIG', m.append('INBOX', None, None, b'Subject: big\r\n\r\n' + b'x' * 30000 + b'\r\n'))
except imaplib.IMAP4.error as e:
    print('BIG', e)
m.logout()
`, "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{"CAPS APPENDLIMIT=20000", "SMALL OK", "BIG", "TOOBIG"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
