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
