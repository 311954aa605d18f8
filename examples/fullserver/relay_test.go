package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkSubmissionRelaysAuthenticated: seed 001's submission port
// relays an authenticated user's mail for another domain through
// relayhost (Postfix's smtp-sink here), with the submitter's envelope;
// the same mail without AUTH is refused and reaches nobody.
func TestSmtpSinkSubmissionRelaysAuthenticated(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
try:
    s.sendmail('alice@localhost', ['bob@example.net'], 'Subject: without auth\r\n\r\nno\r\n')
    print('NOAUTH accepted')
except smtplib.SMTPException as e:
    print('NOAUTH refused', e)
s.quit()
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.login('alice@localhost', 'pw-alice')
s.sendmail('alice@localhost', ['bob@example.net', 'carol@example.org'], 'From: alice@localhost\r\nSubject: relayed for alice\r\n\r\nhello\r\n')
print('AUTH sent')
s.quit()
`, "SUB="+strconv.Itoa(in.ports["submission"]))
	if !strings.Contains(out, "NOAUTH refused") || !strings.Contains(out, "AUTH sent") {
		t.Fatalf("python:\n%s", out)
	}
	msgs := sink.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("the relayhost got %d messages, want 1: %q", len(msgs), msgs)
	}
	m := msgs[0]
	for _, want := range []string{"Subject: relayed for alice", "alice@localhost", "bob@example.net", "carol@example.org"} {
		if !strings.Contains(m, want) {
			t.Errorf("the relayed message lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "without auth") {
		t.Errorf("the unauthenticated message was relayed")
	}
	in.waitLog("to=<carol@example.org>, relay=127.0.0.1[127.0.0.1]:" + strconv.Itoa(sink.Port))
}
