package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmtplibQuotaSameInEveryFormat: the userdb's quota_rule (here
// *:messages=2) and mailbox_size_limit (4000 bytes) answer the same for
// a Maildir, an sdbox and an mbox user. Over SMTP, a 10 kB message
// bounces with 5.3.4, two small ones are delivered (the log naming the
// format: maildir, sdbox, mailbox), the third bounces with 5.2.2; over
// LMTP a message to the full mailbox gets the same 552 5.2.2.
func TestSmtplibQuotaSameInEveryFormat(t *testing.T) {
	t.Parallel()
	type outcome struct {
		lmtp    string
		log     []string
		savedTo string
	}
	formats := []struct{ name, loc, savedTo string }{
		{"maildir", "maildir:~/Maildir", "maildir"},
		{"sdbox", "sdbox:~/sdbox", "sdbox"},
		{"mbox", "mbox:~/mail:INBOX=DATA/spool/%n", "mailbox"},
	}
	results := make([]outcome, len(formats))
	t.Run("formats", func(t *testing.T) {
		for i, f := range formats {
			t.Run(f.name, func(t *testing.T) {
				t.Parallel()
				lmtp, log := quotaRun(t, f.loc)
				results[i] = outcome{lmtp, log, f.savedTo}
			})
		}
	})
	if t.Failed() {
		return
	}
	want := []string{"dsn=2.0.0, status=sent (delivered to %s)", "dsn=2.0.0, status=sent (delivered to %s)", "dsn=5.2.2, status=bounced", "dsn=5.3.4, status=bounced"}
	for i, f := range formats {
		r := results[i]
		if r.lmtp != results[0].lmtp {
			t.Errorf("%s: LMTP answers %q, maildir %q", f.name, r.lmtp, results[0].lmtp)
		}
		if !strings.Contains(r.lmtp, "FULL 552 5.2.2") {
			t.Errorf("%s: LMTP answers %q", f.name, r.lmtp)
		}
		if len(r.log) != len(want) {
			t.Errorf("%s: log %q", f.name, r.log)
			continue
		}
		for j, w := range want {
			if strings.Contains(w, "%s") {
				w = strings.ReplaceAll(w, "%s", r.savedTo)
			}
			if !strings.HasPrefix(r.log[j], w) {
				t.Errorf("%s: delivery %d logged %q, want %q", f.name, j, r.log[j], w)
			}
		}
	}
}

// deliveryResult is the dsn and status of a queue log line.
var deliveryResult = regexp.MustCompile(`dsn=[0-9.]+, status=\w+( \(delivered to \w+\))?`)

// quotaRun delivers the test's messages to alice under mail location
// loc and returns the LMTP answers and the queue's results, in order.
func quotaRun(t *testing.T, loc string) (string, []string) {
	in := newInstance(t, "")
	data := in.data
	extra := "message_size_limit = 0\nmailbox_size_limit = 4000\nmail_location = " + strings.ReplaceAll(loc, "DATA", data) +
		"\nuserdb = static: home=" + data + "/home/%n quota_rule=*:messages=2\n"
	if err := os.WriteFile(in.cfg, []byte(testConfig(t, data, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(data, "home", "alice"), 0o755)
	os.MkdirAll(filepath.Join(data, "spool"), 0o755)
	in.addUsers("alice")
	in.start()
	in.python(pyPrelude+`
big = 'Subject: big\r\n\r\n' + ('x' * 70 + '\r\n') * 140
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('', ['alice@localhost'], big)
for i in range(3):
    s.sendmail('', ['alice@localhost'], 'Subject: small %d\r\n\r\nhello\r\n' % i)
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	var log []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		log = nil
		for _, l := range strings.Split(in.errText(), "\n") {
			if strings.Contains(l, "to=<alice@localhost>") {
				if m := deliveryResult.FindString(l); m != "" {
					log = append(log, m)
				}
			}
		}
		if len(log) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if t.Failed() || len(log) < 4 || strings.Contains(log[0], "deferred") {
		t.Logf("server log:\n%s", in.errText())
	}
	// Bounces are logged at once, deliveries after their sync.
	sort.Strings(log)
	// After the queue's four deliveries, LMTP finds the mailbox full.
	out := in.python(pyPrelude+`
l = smtplib.LMTP(os.environ['LMTP'])
for name, msg in (('BIG', 'Subject: big\r\n\r\n' + ('x' * 70 + '\r\n') * 140), ('FULL', 'Subject: over\r\n\r\nhi\r\n')):
    try:
        l.sendmail('', ['alice@localhost'], msg)
        print(name, 'accepted')
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients['alice@localhost']
        print(name, code, text.decode().split(' ')[0])
    except smtplib.SMTPDataError as e:
        print(name, e.smtp_code, e.smtp_error.decode().split(' ')[0])
l.quit()
`, "LMTP="+filepath.Join(data, "lmtp.sock"))
	return strings.TrimSpace(out), log
}
