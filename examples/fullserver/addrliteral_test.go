package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSmtplibOwnAddressLiteralIsLocal: mail to alice@[127.0.0.1], an
// address literal of this host, is delivered to the local user alice as
// Postfix delivers it (its local domains share one namespace of local
// parts), and an unknown local part there is refused as unknown.
func TestSmtplibOwnAddressLiteralIsLocal(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('x@example.org', ['alice@[127.0.0.1]'], 'Subject: literal\r\n\r\nhello\r\n')
try:
    s.sendmail('x@example.org', ['nobody@[127.0.0.1]'], 'Subject: unknown\r\n\r\nhello\r\n')
    print('UNKNOWN accepted')
except smtplib.SMTPRecipientsRefused as e:
    print('UNKNOWN', list(e.recipients.values())[0][0])
s.quit()
print('sent')
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !strings.Contains(out, "sent") || !strings.Contains(out, "UNKNOWN 550") {
		t.Fatalf("python:\n%s", out)
	}
	msgs := waitMessages(t, filepath.Join(in.data, "mail", "localhost", "alice", "Maildir"), 1)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: literal") {
		t.Fatalf("alice's Maildir: %q", msgs)
	}
}
