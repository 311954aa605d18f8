package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImaplibSharedNamespace: with dovecot.conf's shared namespace and
// acl_shared_dict (Dovecot's wiki setup), Python's imaplib through the
// fullserver: alice gives bob "lrs" on her INBOX with SETACL; bob's
// NAMESPACE has the other users' namespace, LIST shows shared/ and
// alice's INBOX as shared/alice@localhost, bob reads it, his \Seen is
// his own (alice does not see it), APPEND without "i" is refused, and
// alice's new message reaches bob's IDLE.
func TestImaplibSharedNamespace(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "dovecot.conf")
	in := newInstance(t, "dovecot_config_file = "+conf)
	// The dict is written by the server's unprivileged user.
	os.WriteFile(conf, []byte(`namespace inbox {
  inbox = yes
  separator = /
}
namespace shared {
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:%%h/Maildir:INDEXPVT=~/Maildir/shared/%%u
  subscriptions = no
  list = children
}
mail_plugins = acl
protocol imap {
  mail_plugins = $mail_plugins imap_acl
}
plugin {
  acl = vfile
  acl_shared_dict = file:`+filepath.Join(in.data, "shared-mailboxes.db")+`
}
`), 0o644)
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
def login(u):
    m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
    m.starttls(ssl_context=ctx)
    m.login(u + '@localhost', 'pw-' + u)
    return m
a = login('alice')
a.append('INBOX', None, None, b'Subject: for bob\r\n\r\nshared\r\n')
assert a.setacl('INBOX', 'bob@localhost', 'lrs')[0] == 'OK'
b = login('bob')
print('NAMESPACE', b.namespace())
print('LIST', b.list())
typ, dat = b.select('shared/alice@localhost/INBOX')
print('SELECT', typ, dat, b.response('PERMANENTFLAGS'))
print('FETCH1', b.fetch('1', '(FLAGS BODY[TEXT])'))
print('FETCH2', b.fetch('1', '(FLAGS)'))
typ, dat = b.append('shared/alice@localhost/INBOX', None, None, b'Subject: no\r\n\r\nno\r\n')
print('APPEND', typ, dat)
a.select('INBOX')
print('OWNER', a.fetch('1', '(FLAGS)'))
b.send(b'i1 IDLE\r\n')
print('IDLE', b.readline())
a.append('INBOX', None, None, b'Subject: second\r\n\r\nagain\r\n')
print('IDLE-UPDATE', b.readline())
b.send(b'DONE\r\n')
print('DONE', b.readline())
print('OK')
`, "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{
		`NAMESPACE ('OK', [b'(("" "/")) (("shared/" "/")) NIL'])`,
		`(\\Noselect \\HasChildren) "/" "shared"'`,
		`(\\HasNoChildren) "/" "shared/alice@localhost"'`,
		"SELECT OK [b'1']",
		"('PERMANENTFLAGS', [b'(\\\\Seen)'])",
		`FETCH1 ('OK', [(b'1 (FLAGS (\\Seen \\Recent) BODY[TEXT] {8}', b'shared\r\n'), b')'])`,
		"APPEND NO [b'[NOPERM]",
		`OWNER ('OK', [b'1 (FLAGS ())'])`,
		"IDLE b'+ ",
		"IDLE-UPDATE b'* 2 EXISTS\\r\\n'",
		"OK",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
