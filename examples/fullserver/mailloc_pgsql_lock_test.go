package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestPoplibPgstoreLockSessionAcrossServers: two fullservers on one
// PostgreSQL with pop3_lock_session = yes. While bob's POP3 session is
// open on the first, a poplib login on the second gets [IN-USE]; once
// the first has quit, the second lets him in.
func TestPoplibPgstoreLockSessionAcrossServers(t *testing.T) {
	ins := pgInstances(t, 2, "pop3_lock_session = yes\n")
	if r := lmtpDeliver(t, ins[0], "bob@localhost", "From: a@example.org\nSubject: lock\n\nhello\n"); !strings.HasPrefix(r, "250") {
		t.Fatalf("LMTP: %s", r)
	}
	out := ins[0].python(pyPrelude+`
first = poplib.POP3_SSL('127.0.0.1', P('POP3S_A'), context=ctx)
first.user('bob@localhost')
first.pass_('pw-bob')
second = poplib.POP3_SSL('127.0.0.1', P('POP3S_B'), context=ctx)
second.user('bob@localhost')
try:
    second.pass_('pw-bob')
    sys.exit('a session on the second server logged in while the first held the lock')
except poplib.error_proto as e:
    assert b'[IN-USE]' in e.args[0], e
    print('REFUSED', e.args[0].decode())
resp, lines, octets = first.retr(1)
assert b'hello' in lines, lines
first.quit()
third = poplib.POP3_SSL('127.0.0.1', P('POP3S_B'), context=ctx)
third.user('bob@localhost')
third.pass_('pw-bob')
assert third.stat()[0] == 1, third.stat()
third.quit()
print('OK')
`, "POP3S_A="+strconv.Itoa(ins[0].ports["pop3s"]), "POP3S_B="+strconv.Itoa(ins[1].ports["pop3s"]))
	if !strings.Contains(out, "OK") || !strings.Contains(out, "REFUSED") {
		t.Fatalf("python output:\n%s", out)
	}
}
