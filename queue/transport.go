package queue

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// Transport delivers queued mail: the master.cf service that a route's
// transport name ("smtp", "lmtp", "local", "error") selects. Deliver
// gets one message and the recipients of one attempt, all with the same
// transport and nexthop, and returns one Result per recipient in the
// same order. It must not return before each Sent result is durable at
// its destination (a 250 from the next hop, a synced mailbox file).
// Deliver is called from many goroutines at once.
type Transport interface {
	Deliver(ctx context.Context, d *Delivery) []Result
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(ctx context.Context, d *Delivery) []Result

// Deliver calls f.
func (f TransportFunc) Deliver(ctx context.Context, d *Delivery) []Result { return f(ctx, d) }

// Delivery is one delivery attempt of a message to some of its
// recipients.
type Delivery struct {
	// Envelope is the message's envelope; read it, do not change it.
	Envelope *Envelope
	// Nexthop is the route's nexthop, shared by all Recipients.
	Nexthop string
	// Recipients are the recipients of this attempt.
	Recipients []Recipient
	// Size is the size of the content in bytes.
	Size int64
	// Open returns the message content as it was queued (CRLF line
	// endings, the receiving server's Received header first). It may be
	// called more than once; close what it returns.
	Open func() (io.ReadCloser, error)
	// Logger is the queue's logger.
	Logger *slog.Logger

	// order and turns place the delivery in its recipients' lines
	// (order.go); nil for transports that are not ordered.
	order *recipientOrder
	turns []*turn
}

// Status is the outcome of a delivery attempt for one recipient.
type Status int

const (
	// Deferred: a temporary failure; the recipient stays in the queue
	// and is tried again later.
	Deferred Status = iota
	// Sent: the next hop or the mailbox took the message.
	Sent
	// Bounced: a permanent failure; the sender gets a DSN.
	Bounced
	// Held: the message goes to the hold queue (postsuper -h); no
	// recipient of it is tried until it is released.
	Held
)

var statusNames = [...]string{"deferred", "sent", "bounced", "held"}

// String returns the status as Postfix logs it ("sent", "deferred",
// "bounced").
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Result is the outcome of a delivery attempt for one recipient.
type Result struct {
	Status Status
	// Code is the SMTP/LMTP reply code that decided the outcome, 0 when
	// there was no reply (connection failed, local delivery).
	Code int
	// DSN is the enhanced status code ("2.0.0", "4.4.1", "5.1.1").
	DSN string
	// Text explains the outcome, as Postfix puts it in parentheses after
	// status=: "250 2.0.0 Ok: queued as 4Xyz" or "connect to
	// mx.example.jp[192.0.2.1]:25: Connection refused".
	Text string
	// Remote is set when Text is the remote server's reply (it goes into
	// the DSN as "Diagnostic-Code: smtp; ..." and names RemoteMTA).
	Remote bool
	// RemoteMTA is the host name of the server that replied, for DSNs.
	RemoteMTA string
	// Relay is where the message went, as Postfix logs relay=:
	// "mx.example.jp[192.0.2.1]:25", "local", "none".
	Relay string
	// DSNPassed is set when the next hop supports DSN and took the
	// NOTIFY and ORCPT parameters on: no "relayed" notice is due.
	DSNPassed bool
	// Conn and Xfer are the time spent connecting (DNS, greeting, EHLO,
	// TLS) and transmitting: the c and d of Postfix's delays=a/b/c/d.
	Conn, Xfer time.Duration
}

// Router routes a recipient that has no transport: the transport name
// and nexthop for addr, as trivial-rewrite resolves them (address class
// defaults, relayhost, transport_maps).
type Router interface {
	Route(ctx context.Context, addr string) (transport, nexthop string, err error)
}

// RouterFunc adapts a function to Router.
type RouterFunc func(ctx context.Context, addr string) (transport, nexthop string, err error)

// Route calls f.
func (f RouterFunc) Route(ctx context.Context, addr string) (string, string, error) {
	return f(ctx, addr)
}
