package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/smtp"
)

// smtpToLMTPScript submits with smtplib on port 25 and prints the result
// of each transaction: OK, or the DATA reply.
const smtpToLMTPScript = pyPrelude + `
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
for rcpts in os.environ['RCPTS'].split(';'):
    to = rcpts.split(',')
    try:
        s.sendmail('sender@example.org', to, 'Subject: via lmtp to %s\r\n\r\nbody\r\n' % rcpts)
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

// TestSmtplibMailboxTransportLMTP: with mailbox_transport =
// lmtp:unix:$data_directory/lmtp.sock, mail accepted on port 25 goes
// through the LMTP client to yubin's own LMTP listener, and the LMTP
// server's per-recipient answer is the SMTP client's DATA reply: 250 for
// a delivered message, the LMTP 550 5.1.1 for an unknown user (recipient
// checks at RCPT are off with "local_recipient_maps =", as in Postfix),
// a temporary failure when the LMTP server cannot be reached.
func TestSmtplibMailboxTransportLMTP(t *testing.T) {
	t.Parallel()
	in := newInstance(t, `mailbox_transport = lmtp:unix:$data_directory/lmtp.sock
local_recipient_maps =
transport_maps = inline:{ down@localhost=lmtp:unix:/nonexistent/lmtp.sock }
`)
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := python(t, smtpToLMTPScript, "SMTP="+strconv.Itoa(in.ports["smtp"]),
		"RCPTS=alice@localhost;nobody@localhost;down@localhost")
	for _, want := range []string{
		"alice@localhost OK",
		"nobody@localhost 550 5.1.1 <nobody@localhost> User doesn't exist",
		"down@localhost 451 4.3.0 Error: delivery failed, try again later",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	msgs := maildirMessages(t, filepath.Join(in.data, "mail", "localhost", "alice", "Maildir"))
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: via lmtp to alice@localhost") {
		t.Fatalf("alice's Maildir: %q", msgs)
	}
	log := in.errText()
	// The message went through the LMTP listener (it logs the save), and
	// the SMTP side logged the LMTP relay.
	// Maillog-style lines: connect, per-recipient delivery, and the
	// session's command counters.
	for _, want := range []string{"yubin/smtpd[", ": connect from unknown[127.0.0.1]", ": disconnect from unknown[127.0.0.1] ehlo=1 mail=3 rcpt=3 data=1/3", "yubin/lmtp[", ": <alice@localhost>: saved", "to=<alice@localhost>, orig_to=<alice@localhost>, relay=lmtp:unix:" + in.data + "/lmtp.sock, ", "status=sent"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
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
	out := python(t, smtpToLMTPScript, "SMTP="+strconv.Itoa(in.ports["smtp"]),
		"RCPTS=alice@example.jp;nobody@example.jp;team@example.jp")
	for _, want := range []string{
		"alice@example.jp OK",
		"nobody@example.jp 550 5.1.1 <nobody@example.jp> User doesn't exist",
		"team@example.jp 550 5.1.1 <team@example.jp>: Recipient address rejected: delivery failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	msgs := maildirMessages(t, filepath.Join(dc.Home("alice@example.jp"), "Maildir"))
	var subjects []string
	for _, m := range msgs {
		if i := strings.Index(m, "Subject: "); i >= 0 {
			subjects = append(subjects, strings.TrimSpace(m[i:i+strings.IndexByte(m[i:], '\n')]))
		}
		if !strings.Contains(m, "Delivered-To: alice@example.jp") {
			t.Errorf("Dovecot's Delivered-To missing:\n%s", m)
		}
	}
	if len(msgs) != 2 || !strings.Contains(strings.Join(subjects, "|"), "via lmtp to alice@example.jp") || !strings.Contains(strings.Join(subjects, "|"), "via lmtp to team@example.jp") {
		t.Errorf("Dovecot's Maildir has %d messages %q, want alice's and the alias's", len(msgs), subjects)
	}
	if t.Failed() {
		dl, _ := os.ReadFile(dc.Log)
		t.Logf("dovecot log:\n%s", dl)
	}
}

func TestWorstReply(t *testing.T) {
	t.Parallel()
	perm := replyFor(&lmtp.Error{Code: 552, Enhanced: lmtp.Enhanced{5, 2, 2}, Message: "<a@x> Quota exceeded"}, "a@x", "a@x")
	temp := replyFor(&lmtp.Error{Code: 451, Enhanced: lmtp.Enhanced{4, 3, 0}, Message: "<b@x> try later"}, "team@x", "b@x")
	other := replyFor(errors.New("dial unix /x: no such file"), "c@x", "c@x")
	if perm.Code != 552 || perm.Enhanced != (smtp.Enhanced{5, 2, 2}) || perm.Message != "<a@x> Quota exceeded" {
		t.Errorf("perm = %+v", perm)
	}
	if temp.Code != 451 || strings.Contains(temp.Message, "b@x") {
		t.Errorf("temp = %+v: an alias member's reply must not name it", temp)
	}
	if other.Code != 451 || strings.Contains(other.Message, "dial") {
		t.Errorf("other = %+v: no Go error text on the wire", other)
	}
	if got := worstReply([]*smtp.Error{nil, perm, temp}); got != temp {
		t.Errorf("worst of perm, temp = %+v, want the temporary one", got)
	}
	if got := worstReply([]*smtp.Error{nil, perm}); got != perm {
		t.Errorf("worst = %+v", got)
	}
	if got := worstReply([]*smtp.Error{nil, nil}); got != nil {
		t.Errorf("all delivered: %+v", got)
	}
	if e := parseEnhanced("4.2.2", 552); e != (smtp.Enhanced{5, 0, 0}) {
		t.Errorf("enhanced code of the wrong class kept: %v", e)
	}
}
