package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkOutboundNoticeParams runs the queue's Postfix parameters
// through the server's main.cf against real smtp-sinks: with relayhost
// refusing connections, smtp_fallback_relay takes the mail, and as that
// smtp-sink (-8) does not announce 8BITMIME the 8-bit text arrives as
// quoted-printable (disable_mime_output_conversion = no); a destination
// answering 5xx is bounced, not passed to the fallback relay, and with
// notify_classes = bounce bounce_notice_recipient gets Postfix's
// "Postmaster Copy" of the bounce from double-bounce@$myhostname.
func TestSmtpSinkOutboundNoticeParams(t *testing.T) {
	t.Parallel()
	fallback := testutil.StartSmtpSink(t, "127.0.0.1", "-8")
	reject := testutil.StartSmtpSink(t, "127.0.0.1", "-f", "RCPT")
	// The relayhost refuses connections (a port held by the test, so
	// that no other test can take it meanwhile).
	_, dead, _ := net.SplitHostPort(testutil.RefusedAddr(t))
	in := newInstance(t, "relayhost = [127.0.0.1]:"+dead+`
smtp_fallback_relay = [127.0.0.1]:`+strconv.Itoa(fallback.Port)+`
transport_maps = inline:{ example.org=smtp:[127.0.0.1]:`+strconv.Itoa(reject.Port)+` }
notify_classes = bounce
bounce_notice_recipient = bob@localhost
`)
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.login('alice@localhost', 'pw-alice')
s.sendmail('alice@localhost', ['carol@example.net'], 'From: alice@localhost\r\nSubject: eight\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n'.encode('latin-1'))
s.sendmail('alice@localhost', ['dave@example.org'], 'From: alice@localhost\r\nSubject: refused\r\n\r\nhello\r\n')
print('sent')
s.quit()
`, "SUB="+strconv.Itoa(in.ports["submission"]))
	if !strings.Contains(out, "sent") {
		t.Fatalf("python:\n%s", out)
	}
	msgs := fallback.WaitMessages(t, 1, 30*time.Second)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n") {
		t.Fatalf("the fallback relay got: %q", msgs)
	}
	bounce := waitMessages(t, filepath.Join(in.data, "mail", "localhost", "alice", "Maildir"), 1)
	if len(bounce) != 1 || !strings.Contains(bounce[0], "Subject: Undelivered Mail Returned to Sender") {
		t.Fatalf("alice's Maildir (the bounce): %q", bounce)
	}
	pm := waitMessages(t, filepath.Join(in.data, "mail", "localhost", "bob", "Maildir"), 1)
	if len(pm) != 1 || !strings.Contains(pm[0], "Subject: Postmaster Copy: Undelivered Mail") || !strings.Contains(pm[0], "<dave@example.org>") || strings.Contains(pm[0], "\nhello") {
		t.Fatalf("bob's Maildir (the postmaster copy): %q", pm)
	}
	if !strings.Contains(pm[0], "Return-Path: <double-bounce@") {
		t.Errorf("the postmaster copy is not from double-bounce@$myhostname:\n%s", pm[0])
	}
	in.waitLog("postmaster non-delivery notification: ")
	if n := len(fallback.Messages(t)); n != 1 {
		t.Errorf("the fallback relay got %d messages, want 1 (not the refused one)", n)
	}
}
