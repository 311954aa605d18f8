package queue_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yubinmail/yubin/queue"
)

// Relay through a submission server with SASL credentials, as Postfix's
// relayhost = [smtp.example.com]:587 with smtp_sasl_password_maps and
// smtp_tls_security_level = encrypt. Here the relayhost is an address
// where nothing listens, so the delivery is deferred with Postfix's
// words.
func ExampleSMTPTransport() {
	passwords := map[string]string{"[127.0.0.1]:1": "joe@example.jp:secret"}
	tr := &queue.SMTPTransport{
		Hostname: "mail.example.jp",
		TLSLevel: queue.TLSEncrypt,
		SASL: func(_ context.Context, key string) (string, bool, error) {
			v, ok := passwords[key]
			return v, ok, nil
		},
		SASLSecurityOptions: "noanonymous",
		ConnectTimeout:      5 * time.Second,
	}
	defer tr.Close()
	msg := "From: joe@example.jp\r\nTo: ann@example.com\r\nSubject: hi\r\n\r\nHello.\r\n"
	env := &queue.Envelope{ID: "4Xyz", From: "joe@example.jp",
		Recipients: []queue.Recipient{{Addr: "ann@example.com", Transport: "relay", Nexthop: "[127.0.0.1]:1"}}}
	res := tr.Deliver(context.Background(), &queue.Delivery{
		Envelope:   env,
		Nexthop:    "[127.0.0.1]:1",
		Recipients: env.Recipients,
		Size:       int64(len(msg)),
		Open:       func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(msg)), nil },
	})
	fmt.Printf("status=%s dsn=%s (%s)\n", res[0].Status, res[0].DSN, res[0].Text)
	// Output:
	// status=deferred dsn=4.4.1 (connect to 127.0.0.1[127.0.0.1]:1: Connection refused)
}
