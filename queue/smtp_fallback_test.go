package queue

import (
	"net"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkFallbackRelay checks smtp_fallback_relay against the real
// smtp-sink and nsd, case by case as Postfix 3.7's smtp(8) decides: the
// fallback relay gets the mail when the destination's MX hosts refuse
// connections, answer 4xx, or the domain does not exist; not when the
// server answered 5xx (bounced), not when this host is a backup MX of
// the destination, not when mail loops back to myself. A fallback relay
// that is not found defers with 4.3.5 instead of bouncing.
func TestSmtpSinkFallbackRelay(t *testing.T) {
	t.Parallel()
	res := startSMTPDNS(t)
	fallback := testutil.StartSmtpSink(t, "127.0.0.1")
	refuse5 := testutil.StartSmtpSink(t, "127.0.0.1", "-f", "RCPT")
	greet4 := testutil.StartSmtpSink(t, "127.0.0.1", "-r", "CONNECT")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := smtpItoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	fb := "[127.0.0.1]:" + smtpItoa(fallback.Port)
	sent := 0
	for _, tc := range []struct {
		name, hostname, port, nexthop string
		fallback                      []string
		status                        Status
		dsn, text, relay              string
	}{
		{"primary-refused", "", dead, "implicit.yubin.test", []string{fb}, Sent, "2.0.0", "250", fb},
		{"primary-4xx-greeting", "", smtpItoa(greet4.Port), "implicit.yubin.test", []string{fb}, Sent, "2.0.0", "250", fb},
		{"nxdomain", "", dead, "nosuch.yubin.test", []string{fb}, Sent, "2.0.0", "250", fb},
		// Postfix's smtp_connect_inet goes on to the fallback relay
		// after a null MX too: only a loop or being MX stops it.
		{"nullmx", "", dead, "nullmx.yubin.test", []string{fb}, Sent, "2.0.0", "250", fb},
		{"relayhost-refused", "", dead, "[127.0.0.1]", []string{fb}, Sent, "2.0.0", "250", fb},
		{"second-fallback", "", dead, "implicit.yubin.test", []string{"[127.0.0.1]:" + dead, fb}, Sent, "2.0.0", "250", fb},
		{"primary-5xx", "", smtpItoa(refuse5.Port), "implicit.yubin.test", []string{fb}, Bounced, "5.3.0", "said: 500 5.3.0 Error: command failed (in reply to RCPT TO command)", "implicit.yubin.test[127.0.0.1]:" + smtpItoa(refuse5.Port)},
		{"backup-mx", "mx4.yubin.test", dead, "multi.yubin.test", []string{fb}, Deferred, "4.4.1", "connect to mx6.yubin.test[::1]:" + dead, "none"},
		{"loop", "mx6.yubin.test", dead, "multi.yubin.test", []string{fb}, Bounced, "5.4.6", "mail for multi.yubin.test loops back to myself", "none"},
		{"fallback-not-found", "", dead, "implicit.yubin.test", []string{"[nosuch.yubin.test]"}, Deferred, "4.3.5", "name=nosuch.yubin.test type=A: Host not found", "none"},
		{"no-fallback", "", dead, "nosuch.yubin.test", nil, Bounced, "5.4.4", "Host not found", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, lb := newSMTPLogger()
			tr := &SMTPTransport{Hostname: smtpOrStr(tc.hostname, "client.yubin.test"), Resolver: res, Port: tc.port,
				FallbackRelay: tc.fallback, DisableConnectionCache: true, TLSLevel: TLSNone, Logger: log}
			rcpt := "a@" + strings.Trim(tc.nexthop, "[]")
			rs := smtpDeliver(t, tr, newSMTPDelivery(tc.nexthop, smtpTestMessage, rcpt))
			wantSMTPStatus(t, rs[0], tc.status, tc.dsn, tc.text)
			if !strings.HasPrefix(rs[0].Relay, tc.relay) && !(tc.relay == fb && strings.HasSuffix(rs[0].Relay, "[127.0.0.1]:"+smtpItoa(fallback.Port))) {
				t.Errorf("relay=%s, want %s", rs[0].Relay, tc.relay)
			}
			if tc.status == Sent {
				sent++
				msgs := fallback.WaitMessages(t, sent, 5e9)
				got := false
				for _, m := range msgs {
					got = got || testutil.HasLine(m, "X-Rcpt-Args: <"+rcpt+">")
				}
				if len(msgs) != sent || !got {
					t.Fatalf("the fallback relay has %d messages, want %d to <%s>", len(msgs), sent, rcpt)
				}
			}
			if tc.dsn == "4.3.5" && !strings.Contains(lb.String(), "smtp_fallback_relay configuration problem") {
				t.Errorf("no configuration problem warning in the log:\n%s", lb)
			}
		})
	}
	if n := len(fallback.Messages(t)); n != sent {
		t.Errorf("the fallback relay got %d messages, want %d", n, sent)
	}
}
