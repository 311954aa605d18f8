package queue

import (
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkMXDelivery delivers through MX lookup (real nsd) to the
// real smtp-sink: three recipients accepted, DSN parameters passed on
// (smtp-sink offers DSN), the content arrives dot-stuffed and intact.
func TestSmtpSinkMXDelivery(t *testing.T) {
	t.Parallel()
	res := startDNS(t)
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	log, lb := newLogger()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, Port: itoa(sink.Port), Protocols: "ipv4", Logger: log}
	defer tr.Close()
	d := newDelivery("multi.yubin.test", testMessage, "a@multi.yubin.test", "b@multi.yubin.test", "c@multi.yubin.test")
	d.Envelope.Ret, d.Envelope.EnvID = "HDRS", "env+2Bid"
	d.Recipients[0].Notify = "SUCCESS,FAILURE"
	d.Recipients[1].Orig = "alias@multi.yubin.test"
	rs := deliver(t, tr, d)
	for _, r := range rs {
		wantStatus(t, r, Sent, "2.0.0", "250 2.0.0 Ok")
		if !strings.HasPrefix(r.Relay, "mx4.yubin.test[127.0.0.1]:") && !strings.HasPrefix(r.Relay, "mx4b.yubin.test[127.0.0.1]:") || !r.DSNPassed || !r.Remote || r.Code != 250 {
			t.Errorf("result %+v", r)
		}
	}
	msgs := sink.WaitMessages(t, 1, 5e9)
	if len(msgs) != 1 {
		t.Fatalf("%d messages dumped", len(msgs))
	}
	m := msgs[0]
	t.Logf("dump:\n%s\nlog:\n%s", m, lb)
	for _, l := range []string{
		"X-Helo-Args: client.yubin.test",
		"X-Rcpt-Args: <a@multi.yubin.test> NOTIFY=SUCCESS,FAILURE",
		"X-Rcpt-Args: <b@multi.yubin.test> ORCPT=rfc822;alias@multi.yubin.test",
		"X-Rcpt-Args: <c@multi.yubin.test>",
		"Hello.",
		".leading dot",
	} {
		if !testutil.HasLine(m, l) {
			t.Errorf("dump lacks %q", l)
		}
	}
	if !strings.Contains(m, "RET=HDRS") || !strings.Contains(m, "ENVID=env+2Bid") {
		t.Errorf("MAIL FROM parameters not passed on:\n%s", m)
	}
}
