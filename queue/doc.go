// Package queue is a durable outbound mail queue: what Postfix's
// cleanup, queue manager (qmgr), bounce daemon and delivery agents do
// between an SMTP server's 250 and the message's arrival at its
// destinations.
//
// A program fills in a Queue (a directory, the transports by master.cf
// name, a Router, Postfix's limits and times), calls Start, and hands
// each accepted message to Enqueue, which returns only when the
// message and its envelope are on disk. The scheduler then delivers
// each recipient through its transport: LocalTransport (into users'
// stores, Postfix's local and virtual), LMTPTransport (Postfix's lmtp,
// to Dovecot or yubin's lmtp.Server), SMTPTransport (Postfix's smtp:
// MX lookup, relayhost with SASL, outbound TLS), ErrorTransport
// (error: and retry:), DiscardTransport and HoldTransport. A failed
// recipient is retried (4xx) or returned to its sender in a DSN (5xx),
// and Admin's operations (List, Flush, Hold, Release, Delete, Requeue)
// are postqueue's and postsuper's.
//
// # Standards
//
//   - RFC 5321 (SMTP): 4.5.4 retry strategy, 5.1 MX and implicit MX,
//     6.1 reliable delivery (nothing acknowledged is lost), 6.2 loop
//     detection (hop counts).
//   - RFC 3461 (DSN SMTP extension): NOTIFY, RET, ENVID and ORCPT are
//     kept with the message, passed to next hops that support DSN, and
//     honoured in the notices sent to the sender.
//   - RFC 3464 and RFC 6522 (delivery status notifications): bounces,
//     delay warnings and success notices.
//   - RFC 7505 (null MX).
//
// # Postfix behaviour kept
//
//   - Routing by transport name and nexthop, as trivial-rewrite gives
//     them (restrict.Policy.Resolve does: address classes, relayhost,
//     transport_maps). A recipient enqueued without a transport is
//     routed at each attempt, so that postsuper -r (Requeue) applies a
//     changed transport_maps to mail already queued.
//   - Per-destination concurrency windows that start at
//     initial_destination_concurrency and grow by one per success up to
//     default_destination_concurrency_limit; a destination whose
//     connections fail is suspended ("delivery temporarily suspended")
//     until the next queue run, as qmgr's dead destinations.
//   - Backoff between minimal_backoff_time and maximal_backoff_time
//     equal to the message's age (so it doubles), deferred messages
//     scanned every queue_run_delay, returned to the sender after
//     maximal_queue_lifetime (bounce_queue_lifetime for bounces), delay
//     warnings after delay_warning_time.
//   - Per-recipient state: a recipient that got the message is never
//     tried again when another recipient of the same message is
//     deferred.
//   - Notices are never sent to the null sender, so bounces cannot loop;
//     a message with more than hopcount_limit Received headers bounces,
//     and local delivery refuses a message that already carries its
//     recipient's Delivered-To (mail forwarding loop).
//   - Log lines in Postfix's words: qmgr's "from=<...>, size=..., nrcpt=...
//     (queue active)", the delivery agent's "to=<...>, relay=...,
//     delay=..., delays=a/b/c/d, dsn=..., status=sent|deferred|bounced
//     (...)", bounce's "sender non-delivery notification: ID", and
//     "removed", each with a "service" attribute naming the program.
//
// # Implementation notes
//
// Storage. Messages arriving together are appended to one segment file
// and made durable by one fsync (group commit): the fsync cost per
// acknowledged message falls with the number of concurrent senders.
// Outcomes are appended to the message's storage without fsync: they
// survive the process's death (they are in the kernel's page cache), and
// after a machine crash a recipient may be tried again (at-least-once).
// A message that must wait (deferred) or is held moves into a file of
// its own, whose modification time is its next attempt, as in Postfix.
// On Start, every segment, deferred and held message is recovered; a
// cut-short or corrupted file is moved aside to corrupt/ and logged.
//
// Locks. Queue.mu guards the scheduler (messages, destinations, the
// run queue); each message's spool calls are serialised by its own
// mutex, which is never held while Queue.mu is taken. Deliveries run in
// their own goroutines, ProcessLimit at most.
package queue
