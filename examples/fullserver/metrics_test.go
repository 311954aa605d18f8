package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestCurlMetrics: curl reads the Prometheus metrics after a delivery,
// a relay refusal, a failed IMAP login, a POP3 session and an LMTP
// delivery.
func TestCurlMetrics(t *testing.T) {
	t.Parallel()
	curl := testutil.RequireBinary(t, "curl")
	in := newInstance(t, "metrics_listen = 127.0.0.1:0\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	mport := in.ports["metrics"]
	in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'), source_address=('127.0.0.2', 0))
s.sendmail('x@example.org', ['alice@localhost'], 'Subject: m\r\n\r\nm\r\n')
wait_mail('alice', 1)
s.mail('x@example.org')
s.rcpt('victim@example.com')
s.quit()
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
try:
    m.login('alice@localhost', 'wrong')
except imaplib.IMAP4.error:
    pass
m.logout()
p = poplib.POP3('127.0.0.1', P('POP3'))
p.stls(context=ctx)
p.user('alice@localhost')
p.pass_('pw-alice')
p.stat()
try:
    p.retr(99)
except poplib.error_proto:
    pass
p.quit()
l = smtplib.LMTP(os.environ['LMTP'])
l.sendmail('x@example.org', ['alice@localhost'], 'Subject: l\r\n\r\nl\r\n')
l.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]), "POP3="+strconv.Itoa(in.ports["pop3"]), "LMTP="+filepath.Join(in.data, "lmtp.sock"))
	wants := []string{
		`yubin_sessions_total{service="smtp"} 1`,
		`yubin_sessions_total{service="imap"} 1`,
		`yubin_commands_total{command="ehlo",service="smtp",status="ok"} 1`,
		`yubin_commands_total{command="rcpt",service="smtp",status="failed"} 1`,
		`yubin_commands_total{command="data",service="smtp",status="ok"} 1`,
		`yubin_deliveries_total{service="local",status="sent"} 1`,
		`yubin_queue_messages{queue="deferred"} 0`,
		`yubin_auth_failures_total{service="imap"} 1`,
		`yubin_commands_total{command="starttls",service="imap",status="ok"} 1`,
		`yubin_commands_total{command="login",service="imap",status="failed"} 1`,
		`yubin_commands_total{command="logout",service="imap",status="ok"} 1`,
		`yubin_commands_total{command="stls",service="pop3",status="ok"} 1`,
		`yubin_commands_total{command="pass",service="pop3",status="ok"} 1`,
		`yubin_commands_total{command="retr",service="pop3",status="failed"} 1`,
		`yubin_commands_total{command="quit",service="pop3",status="ok"} 1`,
		`yubin_commands_total{command="lhlo",service="lmtp",status="ok"} 1`,
		`yubin_commands_total{command="data",service="lmtp",status="ok"} 1`,
		`yubin_deliveries_total{service="lmtp",status="sent"} 1`,
		`yubin_command_duration_seconds_bucket{command="login",service="imap",le="`,
		`yubin_command_duration_seconds_count{command="retr",service="pop3"} 1`,
		`yubin_restriction_decisions_total{action="reject",stage="`,
		`yubin_delivery_duration_seconds_bucket{service="smtp",le="`,
		`yubin_auth_duration_seconds_bucket{service="imap",le="`,
		`yubin_restriction_duration_seconds_bucket{stage="rcpt",le="`,
	}
	// The session counters arrive when the server has logged the end of
	// the session, a moment after the client saw QUIT's reply.
	var out []byte
	var missing []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		out, err = exec.Command(curl, "-sf", "http://127.0.0.1:"+strconv.Itoa(mport)+"/metrics").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(out), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("metrics lack %q\n%s", missing, out)
	}
}
