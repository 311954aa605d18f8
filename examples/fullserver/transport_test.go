package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// smtpToLMTPScript submits with smtplib on port 25 and prints the result
// of each transaction: OK, or the DATA reply.
const smtpToLMTPScript = pyPrelude + `
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
for rcpts in os.environ['RCPTS'].split(';'):
    to = rcpts.split(',')
    try:
        s.sendmail(os.environ.get('FROM', 'sender@example.org'), to, 'Subject: via lmtp to %s\r\n\r\nbody\r\n' % rcpts)
        print(rcpts, 'OK')
    except smtplib.SMTPDataError as e:
        print(rcpts, e.smtp_code, e.smtp_error.decode())
s.quit()
`

// maildirMessages returns the contents of the messages in a Maildir's
// new/ and cur/.
func maildirMessages(t *testing.T, md string) []string {
	t.Helper()
	var out []string
	files, _ := filepath.Glob(filepath.Join(md, "[nc][eu][wr]", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// waitMessages waits up to 10 seconds for a Maildir to hold n
// messages and returns them.
func waitMessages(t *testing.T, md string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := maildirMessages(t, md)
		if len(msgs) >= n || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits up to 10 seconds for the server's log to contain s.
func (in *instance) waitLog(s string) {
	in.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(in.errText(), s) {
		if time.Now().After(deadline) {
			in.t.Fatalf("log lacks %q after 10s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSmtplibMailboxTransportLMTP: with mailbox_transport =
// lmtp:unix:$data_directory/lmtp.sock, mail accepted on port 25 is
// queued (250 for every recipient), and the queue hands it to yubin's
// own LMTP listener: alice's copy is saved, the LMTP server's 550 5.1.1
// for an unknown user (recipient checks at RCPT are off with
// "local_recipient_maps =", as in Postfix) comes back to the sender as a
// bounce, and a recipient whose LMTP server cannot be reached stays
// deferred in the queue.
func TestSmtplibMailboxTransportLMTP(t *testing.T) {
	t.Parallel()
	in := newInstance(t, `mailbox_transport = lmtp:unix:$data_directory/lmtp.sock
local_recipient_maps =
transport_maps = inline:{ down@localhost=lmtp:unix:/nonexistent/lmtp.sock, bob@localhost=local: }
`)
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := python(t, smtpToLMTPScript, "SMTP="+strconv.Itoa(in.ports["smtp"]), "FROM=bob@localhost",
		"RCPTS=alice@localhost;nobody@localhost;down@localhost")
	for _, want := range []string{"alice@localhost OK", "nobody@localhost OK", "down@localhost OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	msgs := waitMessages(t, filepath.Join(in.data, "mail", "localhost", "alice", "Maildir"), 1)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: via lmtp to alice@localhost") {
		t.Fatalf("alice's Maildir: %q", msgs)
	}
	bounces := waitMessages(t, filepath.Join(in.data, "mail", "localhost", "bob", "Maildir"), 1)
	if len(bounces) != 1 || !strings.Contains(bounces[0], "nobody@localhost") || !strings.Contains(bounces[0], "5.1.1") {
		t.Fatalf("bob's Maildir (the bounce): %q", bounces)
	}
	// Each delivery is logged after its mail is in place: wait for all.
	for _, line := range []string{"to=<down@localhost>", "to=<alice@localhost>, relay=", "to=<nobody@localhost>, relay=", "sender non-delivery notification: "} {
		in.waitLog(line)
	}
	log := in.errText()
	for _, want := range []string{"yubin/smtpd[", ": connect from unknown[127.0.0.1]", ": disconnect from unknown[127.0.0.1] ehlo=1 mail=3 rcpt=3 data=3", "yubin/lmtp[", ": <alice@localhost>: saved",
		"yubin/qmgr[", "(queue active)", "yubin/lmtp[", "to=<alice@localhost>, relay=", "[" + in.data + "/lmtp.sock], delay=", "status=sent",
		"to=<nobody@localhost>, relay=", "dsn=5.1.1, status=bounced", "yubin/bounce[", "sender non-delivery notification: ",
		"to=<down@localhost>, relay=/nonexistent/lmtp.sock[/nonexistent/lmtp.sock], delay=", "status=deferred (connect to /nonexistent/lmtp.sock[/nonexistent/lmtp.sock]: No such file or directory)"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// One "(queue active)" line per message, qmgr's, as in Postfix (the
	// SMTP server leaves it to the queue): three received, one bounce.
	queued := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "(queue active)") {
			queued++
			if !strings.Contains(l, "yubin/qmgr[") {
				t.Errorf("a queue line not from qmgr: %s", l)
			}
		}
	}
	if queued != 4 {
		t.Errorf("%d \"(queue active)\" lines for 3 messages and a bounce:\n%s", queued, log)
	}
}

// TestDovecotLMTPMailboxTransport: yubin's SMTP in front of a real
// Dovecot 2.3 LMTP (mailbox_transport = lmtp:unix:<dovecot's lmtp
// socket>, seed 001's Postfix setting): the message is in the Maildir
// Dovecot wrote, and Dovecot's refusal of an unknown user reaches the
// SMTP client as Dovecot's 550 5.1.1. An alias to a known and an unknown
// user delivers to the known one and answers with a permanent failure
// that does not reveal the alias's members.
func TestDovecotLMTPMailboxTransport(t *testing.T) {
	t.Parallel()
	passwd := filepath.Join(testutil.SharedDir(t), "passwd")
	os.WriteFile(passwd, []byte("alice@example.jp:{PLAIN}pw::::::\n"), 0o644)
	dc := testutil.StartDovecot(t, testutil.DovecotConfig{Protocols: "lmtp", PasswdFile: passwd})
	in := newInstance(t, `mydestination = example.jp
myorigin = example.jp
mailbox_transport = lmtp:unix:`+filepath.Join(dc.Dir, "run", "lmtp")+`
local_recipient_maps =
alias_maps = inline:{ { team = alice, ghost } }
`)
	in.start()
	out := python(t, smtpToLMTPScript, "SMTP="+strconv.Itoa(in.ports["smtp"]), "FROM=alice@example.jp",
		"RCPTS=alice@example.jp;nobody@example.jp;team@example.jp")
	for _, want := range []string{"alice@example.jp OK", "nobody@example.jp OK", "team@example.jp OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// alice's message, the alias's copy for alice, and two bounces (for
	// nobody and for the alias's unknown member ghost), all written by
	// Dovecot.
	msgs := waitMessages(t, filepath.Join(dc.Home("alice@example.jp"), "Maildir"), 4)
	var subjects []string
	bounced := ""
	for _, m := range msgs {
		if i := strings.Index(m, "Subject: "); i >= 0 {
			subjects = append(subjects, strings.TrimSpace(m[i:i+strings.IndexByte(m[i:], '\n')]))
		}
		if !strings.Contains(m, "Delivered-To: alice@example.jp") {
			t.Errorf("Dovecot's Delivered-To missing:\n%s", m)
		}
		if strings.Contains(m, "MAILER-DAEMON") {
			bounced += m
		}
	}
	subj := strings.Join(subjects, "|")
	if len(msgs) != 4 || !strings.Contains(subj, "via lmtp to alice@example.jp") || !strings.Contains(subj, "via lmtp to team@example.jp") {
		t.Errorf("Dovecot's Maildir has %d messages %q, want alice's, the alias's and two bounces", len(msgs), subjects)
	}
	for _, who := range []string{"nobody@example.jp", "ghost@example.jp"} {
		if !strings.Contains(bounced, who) {
			t.Errorf("no bounce names %s:\n%s", who, bounced)
		}
	}
	if t.Failed() {
		dl, _ := os.ReadFile(dc.Log)
		t.Logf("dovecot log:\n%s", dl)
	}
}
