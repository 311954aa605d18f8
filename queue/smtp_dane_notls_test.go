package queue

import (
	"fmt"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/tlspolicy"
)

// TestSmtpSinkDANENoSTARTTLS: an MX host with validated TLSA records
// (the real nsd, ldns-signzone and unbound) that does not offer
// STARTTLS (the real smtp-sink) gets no mail: deferred with Postfix's
// 4.7.4 "TLS is required, but was not offered", never
// in plaintext, and counted for TLS-RPT as starttls-not-supported with
// the failure details RFC 8460 4.3 asks for: sending-mta-ip and
// receiving-mx-helo (the name smtp-sink greets with).
func TestSmtpSinkDANENoSTARTTLS(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	port := smtpItoa(sink.Port)
	zone := fmt.Sprintf(`@ SOA ns.notls.test. hostmaster.notls.test. 1 3600 600 86400 60
@ NS ns.notls.test.
ns A 127.0.0.1
@ MX 10 mx.notls.test.
mx A 127.0.0.1
_%s._tcp.mx TLSA 3 1 1 %s
`, port, strings.Repeat("ab", 32))
	signed := testutil.SignZone(t, "notls.test.", zone)
	ns := testutil.StartNSD(t, map[string]string{"notls.test.": signed.Text})
	ub := testutil.StartUnbound(t, map[string]string{"notls.test.": ns.Addr}, signed.Anchor)
	rec := &tlspolicy.Recorder{}
	log, lb := newSMTPLogger()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: testutil.NewTestResolver(ub.Addr), Port: port, TLSLevel: "dane",
		TLSPolicy: &tlspolicy.Policy{DNSSEC: &tlspolicy.Resolver{Addr: ub.Addr}, Recorder: rec}, Logger: log, DisableConnectionCache: true}
	rs := smtpDeliver(t, tr, newSMTPDelivery("notls.test", smtpTestMessage, "u@notls.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.7.4", "TLS is required, but was not offered by host mx.notls.test")
	if n := len(sink.Messages(t)); n != 0 {
		t.Fatalf("smtp-sink got %d messages in plaintext:\n%s", n, lb)
	}
	p := rec.Peek().Policies
	if len(p) != 1 || p[0].Policy.Type != tlspolicy.PolicyTLSA || len(p[0].Failures) != 1 {
		t.Fatalf("TLS-RPT counts: %+v", p)
	}
	f := p[0].Failures[0]
	if f.Result != tlspolicy.ResultSTARTTLSNotSupported || f.SendingMTAIP.String() != "127.0.0.1" || f.ReceivingHELO == "" || f.ReceivingIP.String() != "127.0.0.1" {
		t.Fatalf("failure details: %+v", f.Failure)
	}
}
