package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostfixPostmasterNotices makes the real Postfix 3.7, with
// notify_classes = bounce, 2bounce, delay, send its postmaster notices —
// the copy of a bounce to bounce_notice_recipient, a bounce that could
// not be delivered to 2bounce_notice_recipient, the copy of a delay
// warning to delay_notice_recipient — to an smtp-sink, and compares each
// with yubin's for the same envelope and outcome: subject, header
// fields, MIME structure, notification text (no template text) and
// delivery-status fields, the envelope sender (double-bounce@myhostname)
// and whether the original comes whole or as headers.
func TestPostfixPostmasterNotices(t *testing.T) {
	dump := sinkDir(t)
	accept := startSmtpSink(t, dump, "-N")
	reject := startSmtpSink(t, "", "-f", "RCPT")
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`transport_maps = inline:{reject.test=smtp:%s, sink.test=smtp:%s, closed.test=smtp:[127.0.0.1]:1}
delay_warning_time = 1s
notify_classes = bounce, 2bounce, delay
bounce_notice_recipient = pm@sink.test
2bounce_notice_recipient = pm2@sink.test
delay_notice_recipient = pmd@sink.test
`, bracketAddr(reject), bracketAddr(accept)))
	body := "From: Sender <s@sink.test>\r\nTo: someone@example.test\r\nSubject: test\r\nMessage-ID: <1@client.test>\r\n\r\nhello\r\n"
	smtpSend(t, pf.Addr(), "<bouncer@sink.test>", []string{"<nobody@reject.test>"}, body)
	smtpSend(t, pf.Addr(), "<dbl@reject.test>", []string{"<nobody2@reject.test>"}, body)
	smtpSend(t, pf.Addr(), "<delayer@sink.test>", []string{"<x@closed.test>"}, body)
	rejected := Result{Status: Bounced, Code: 500, DSN: "5.3.0", Remote: true, RemoteMTA: "127.0.0.1",
		Text: "host 127.0.0.1[127.0.0.1] said: 500 5.3.0 Error: command failed (in reply to RCPT TO command)"}
	for _, c := range []struct {
		name, to  string
		kind      dsnKind
		env       Envelope
		recipient string
		result    Result
		whole     bool // the original returned with its body
	}{
		{"bounce", "pm@sink.test", dsnFailure, Envelope{From: "bouncer@sink.test"}, "nobody@reject.test", rejected, false},
		{"2bounce", "pm2@sink.test", dsnFailure, Envelope{From: ""}, "dbl@reject.test", rejected, true},
		{"delay", "pmd@sink.test", dsnDelay, Envelope{From: "delayer@sink.test"}, "x@closed.test",
			Result{Status: Deferred, DSN: "4.4.1", Text: "connect to 127.0.0.1[127.0.0.1]:1: Connection refused"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := waitSettledDump(t, dump, pf.Log, "\nTo: "+c.to+"\n", "<"+c.recipient+">: ")
			if from := sinkMailArgs(t, dump, "\nTo: "+c.to+"\n"); from != "<double-bounce@postfix.example.test>" {
				t.Errorf("postfix's envelope sender %q", from)
			}
			theirs := readDSNShape(t, raw)
			env := c.env
			env.ID = theirs.statusValue("X-Postfix-Queue-ID")
			arrival, err := time.Parse("Mon, _2 Jan 2006 15:04:05 -0700 (MST)", theirs.statusValue("Arrival-Date"))
			if err != nil {
				t.Fatalf("Arrival-Date: %v\n%s", err, raw)
			}
			env.Arrival = arrival
			content := "Received: by postfix.example.test (Postfix)\r\n\tid " + env.ID + "\r\n" + body
			r := &dsnReport{Kind: c.kind, Host: "postfix.example.test", From: "MAILER-DAEMON@example.test", Envelope: &env,
				Recipients: []dsnRecipient{{Recipient: Recipient{Addr: c.recipient}, Result: c.result}},
				Content:    strings.NewReader(content), Size: int64(len(content)), SizeLimit: defaultBounceSizeLimit,
				Now: time.Now(), WarnAfter: time.Second, RetryUntil: arrival.Add(5 * 24 * time.Hour),
				Postmaster: true, To: c.to}
			var b strings.Builder
			if err := writeDSN(&b, r); err != nil {
				t.Fatal(err)
			}
			ours := readDSNShape(t, b.String())
			if testing.Verbose() {
				t.Logf("postfix:\n%s\nyubin:\n%s", raw, b.String())
			}
			compareDSN(t, c.name, ours, theirs)
			for _, h := range []string{"To: " + c.to, "Auto-Submitted: auto-generated"} {
				if !strings.Contains(raw, "\n"+h+"\n") || !strings.Contains(b.String(), "\r\n"+h+"\r\n") {
					t.Errorf("%q not in both notices", h)
				}
			}
			if got := strings.Contains(theirs.Original, "\n\nhello") || strings.Contains(theirs.Original, "\n\nThis is the mail system"); got != c.whole {
				t.Errorf("postfix returned the body: %v, want %v", got, c.whole)
			}
			if got := strings.Contains(ours.Original, "\n\nhello"); got != c.whole {
				t.Errorf("yubin returned the body: %v, want %v", got, c.whole)
			}
		})
	}
}

// sinkMailArgs returns the X-Mail-Args of the dumped message containing
// want.
func sinkMailArgs(t *testing.T, dir, want string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "msg-*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if s := string(b); strings.Contains(s, want) {
			for _, l := range strings.Split(s, "\n") {
				if v, ok := strings.CutPrefix(l, "X-Mail-Args: "); ok {
					return strings.Fields(v)[0]
				}
			}
		}
	}
	return ""
}
