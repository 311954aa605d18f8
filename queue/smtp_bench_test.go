package queue

import (
	"context"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// BenchmarkSmtpSinkRelay relays a 4 KiB message with two recipients to
// the real smtp-sink over one cached connection (RSET between
// messages), as a relayhost delivery does under load; a diagnostic of
// the transport's per-message cost, not a gate.
func BenchmarkSmtpSinkRelay(b *testing.B) {
	sink := testutil.StartSmtpSink(b, "127.0.0.1")
	tr := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: TLSNone}
	defer tr.Close()
	msg := "Subject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 51)
	nh := "[127.0.0.1]:" + smtpItoa(sink.Port)
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs := tr.Deliver(ctx, newSMTPDelivery(nh, msg, "a@yubin.test", "b@yubin.test"))
		if rs[0].Status != Sent || rs[1].Status != Sent {
			b.Fatalf("%+v", rs)
		}
	}
}
