package queue_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/yubinmail/yubin/queue"
)

// A queue with one transport: every message is handed to a function
// that prints it. A real program registers queue.LocalTransport,
// queue.LMTPTransport and queue.SMTPTransport instead, and calls
// Enqueue from its smtp.Session's Data.
func Example() {
	dir, err := os.MkdirTemp("", "queue-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	done := make(chan struct{})
	q := &queue.Queue{
		Dir:      dir,
		Hostname: "mx.example.jp",
		Transports: map[string]queue.Transport{
			"print": queue.TransportFunc(func(ctx context.Context, d *queue.Delivery) []queue.Result {
				res := make([]queue.Result, len(d.Recipients))
				for i, r := range d.Recipients {
					fmt.Printf("deliver %d bytes from <%s> to <%s> via %s\n", d.Size, d.Envelope.From, r.Addr, d.Nexthop)
					res[i] = queue.Result{Status: queue.Sent, Text: "printed"}
				}
				close(done)
				return res
			}),
		},
	}
	if err := q.Start(); err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	env := &queue.Envelope{
		From:       "alice@example.jp",
		Recipients: []queue.Recipient{{Addr: "bob@example.net", Transport: "print", Nexthop: "example.net"}},
	}
	// Enqueue returns once the message is on disk: now answer 250.
	if _, err := q.Enqueue(context.Background(), env, strings.NewReader("Subject: hi\r\n\r\nhello\r\n")); err != nil {
		log.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	// Output:
	// deliver 22 bytes from <alice@example.jp> to <bob@example.net> via example.net
}
