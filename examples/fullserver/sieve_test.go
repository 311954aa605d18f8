package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/lmtp"
)

// TestSmtpSinkSieveFileintoCreateAndVacation: mail the SMTP server
// accepts for a local user runs the user's ~/.dovecot.sieve at local
// delivery: fileinto :create files it into a folder made on the fly
// (with the flag the script sets), other mail stays in INBOX, and the
// vacation reply goes through the queue and relayhost (Postfix's
// smtp-sink) once per sender per period, from the null sender; a
// sieve_before script runs first.
func TestSmtpSinkSieveFileintoCreateAndVacation(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\n")
	before := filepath.Join(filepath.Dir(in.data), "before.sieve")
	if err := os.WriteFile(before, []byte(`require ["imap4flags"]; if header :contains "subject" "urgent" { addflag "\\Flagged"; }`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.cfg, []byte(testConfig(t, in.data, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\nsieve_before = "+before+"\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	home := filepath.Join(in.data, "mail", "localhost", "alice")
	script := `require ["fileinto", "mailbox", "vacation", "imap4flags"];
if header :contains "subject" "report" {
    addflag "$Report";
    fileinto :create "Reports/2026";
}
vacation :days 1 :addresses ["alice@localhost"] :subject "Away" "I am away until Monday.";
`
	os.MkdirAll(home, 0o755)
	if err := os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('bob@example.net', ['alice@localhost'], 'From: bob@example.net\r\nTo: alice@localhost\r\nSubject: monthly report\r\nMessage-ID: <r1@example.net>\r\n\r\nnumbers\r\n')
s.sendmail('bob@example.net', ['alice@localhost'], 'From: bob@example.net\r\nTo: alice@localhost\r\nSubject: urgent report\r\nMessage-ID: <r2@example.net>\r\n\r\nmore numbers\r\n')
s.sendmail('carol@example.org', ['alice@localhost'], 'From: carol@example.org\r\nTo: alice@localhost\r\nSubject: hello\r\nMessage-ID: <h1@example.org>\r\n\r\nhi\r\n')
s.sendmail('list@example.org', ['alice@localhost'], 'From: list@example.org\r\nTo: alice@localhost\r\nSubject: digest\r\nList-Id: <l.example.org>\r\n\r\nlist mail\r\n')
s.quit()
print('sent')
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !strings.Contains(out, "sent") {
		t.Fatalf("python:\n%s", out)
	}
	// Two vacation replies: bob once (not for his second message),
	// carol once, none to the list.
	sink.WaitMessages(t, 2, 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	msgs := sink.Messages(t)
	if len(msgs) != 2 {
		t.Fatalf("smtp-sink got %d messages, want 2 vacation replies:\n%s", len(msgs), strings.Join(msgs, "\n-----\n"))
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{"bob@example.net", "carol@example.org", "Subject: Away", "Auto-Submitted: auto-replied", "In-Reply-To: <r1@example.net>", "I am away until Monday."} {
		if !strings.Contains(got, want) {
			t.Errorf("the replies lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "list@example.org") {
		t.Errorf("a vacation reply went to a list:\n%s", got)
	}
	// The reports are in the folder made on the fly, the rest in INBOX.
	md := filepath.Join(home, "Maildir")
	deadline := time.Now().Add(10 * time.Second)
	var reports, inbox []string
	for time.Now().Before(deadline) {
		reports = maildirFiles(md, ".Reports.2026")
		inbox = maildirFiles(md, "")
		if len(reports) == 2 && len(inbox) == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(reports) != 2 || len(inbox) != 2 {
		dirs, _ := filepath.Glob(filepath.Join(md, "*"))
		t.Fatalf("Reports/2026 has %d messages, INBOX %d; want 2 and 2 (dirs %v)", len(reports), len(inbox), dirs)
	}
	// The Maildir info of each report: \Flagged (F) from sieve_before
	// on the urgent one only, the $Report keyword (a) on both.
	for _, f := range reports {
		b, _ := os.ReadFile(f)
		info := ""
		if i := strings.LastIndex(f, ":2,"); i >= 0 {
			info = f[i+3:]
		}
		urgent := strings.Contains(string(b), "urgent report")
		if strings.Contains(info, "F") != urgent || !strings.Contains(info, "a") {
			t.Errorf("report %s (urgent %v) has flags %q", filepath.Base(f), urgent, info)
		}
	}
}

// maildirFiles lists the messages of a Maildir++ folder ("" for INBOX).
func maildirFiles(md, folder string) []string {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		fs, _ := filepath.Glob(filepath.Join(md, folder, sub, "*"))
		out = append(out, fs...)
	}
	return out
}

// TestSmtpSinkSieveLMTP: over the fullserver's LMTP socket, the user's
// script runs: ereject refuses the recipient with 550 and the reason,
// redirect :copy forwards through the queue to relayhost (smtp-sink)
// and keeps a copy, a script that fails at run time keeps the message
// in INBOX, and a script that does not compile is skipped (INBOX).
func TestSmtpSinkSieveLMTP(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\nsieve_extensions = +ereject\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	write := func(user, script string) {
		home := filepath.Join(in.data, "mail", "localhost", user)
		os.MkdirAll(home, 0o755)
		if err := os.WriteFile(filepath.Join(home, ".dovecot.sieve"), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("alice", `require ["copy", "imap4flags"];
if header :contains "subject" "forward" { redirect :copy "archive@example.net"; }
if header :contains "subject" "spam" { addflag "\\Seen"; redirect "a@example.net"; redirect "b@example.net"; redirect "c@example.net"; redirect "d@example.net"; redirect "e@example.net"; }
`)
	write("bob", "this is not sieve;\n")
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	in.start()
	send := func(rcpt, subject string, extra ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := lmtp.Dial(ctx, "unix", filepath.Join(in.data, "lmtp.sock"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello(ctx, "test"); err != nil {
			t.Fatal(err)
		}
		errs, err := c.Send(ctx, "sender@example.org", []string{rcpt}, strings.NewReader(strings.Join(extra, "")+"From: sender@example.org\r\nTo: "+rcpt+"\r\nSubject: "+subject+"\r\n\r\nbody\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		return errs[0]
	}
	if err := send("alice@localhost", "please forward this"); err != nil {
		t.Fatalf("forward: %v", err)
	}
	if err := send("alice@localhost", "spam spam"); err != nil {
		t.Fatalf("run-time failure not kept: %v", err)
	}
	if err := send("bob@localhost", "hello bob"); err != nil {
		t.Fatalf("broken script not skipped: %v", err)
	}
	msgs := sink.WaitMessages(t, 1, 15*time.Second)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "archive@example.net") || !strings.Contains(msgs[0], "please forward this") ||
		!strings.Contains(msgs[0], "X-Sieve-Redirected-From: alice@localhost") || !strings.Contains(msgs[0], "sender@example.org") {
		t.Fatalf("smtp-sink got: %q", msgs)
	}
	alice := filepath.Join(in.data, "mail", "localhost", "alice", "Maildir")
	if n := len(maildirFiles(alice, "")); n != 2 {
		t.Errorf("alice's INBOX has %d messages, want 2 (the :copy and the failed run's keep)", n)
	}
	if n := len(maildirFiles(filepath.Join(in.data, "mail", "localhost", "bob", "Maildir"), "")); n != 1 {
		t.Errorf("bob's INBOX has %d messages, want 1", n)
	}
	in.waitLog("number of redirect actions exceeds policy limit")

	// A message alice redirected before comes back: no second redirect.
	if err := send("alice@localhost", "forward again", "X-Sieve-Redirected-From: alice@localhost\r\n"); err != nil {
		t.Fatal(err)
	}
	in.waitLog("sieve: redirect loop; not redirected")
	if msgs := sink.Messages(t); len(msgs) != 1 {
		t.Errorf("the looping message was redirected: %d messages at smtp-sink", len(msgs))
	}

	// ereject refuses at LMTP time.
	write("alice", `require "ereject"; ereject "I do not take mail from you.";`)
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	err := send("alice@localhost", "anything")
	var le *lmtp.Error
	if !errors.As(err, &le) || le.Code != 550 || !strings.Contains(le.Message, "I do not take mail from you.") {
		t.Fatalf("ereject: %v", err)
	}
}
