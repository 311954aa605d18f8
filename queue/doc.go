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
//   - RFC 6152 (8BITMIME) and RFC 2045 6.7 (quoted-printable): 8-bit
//     mail converted to 7bit for servers without 8BITMIME, as Postfix
//     converts it.
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
// # Delivery status notifications
//
// The queue tells senders what became of their mail as Postfix 3.7's
// bounce(8) does (RFC 3464, RFC 3461, RFC 6522): a non-delivery report
// ("Undelivered Mail Returned to Sender") when a recipient bounces, a delay
// warning ("Delayed Mail (still being retried)") once a message has waited
// delay_warning_time, and a delivery report ("Successful Mail Delivery
// Report") for recipients that asked with NOTIFY=SUCCESS and were delivered
// or relayed to a next hop that does not take DSN parameters on. Recipients
// whose NOTIFY does not ask for a kind of notice are left out of it, and no
// notice goes to the null sender (RFC 5321 section 4.5.5).
//
// A notice is a multipart/report; report-type=delivery-status with three
// parts, laid out as Postfix's:
//
//   - text/plain (charset=utf-8): "This is the mail system at host HOST.",
//     Postfix's default template text, and one "<recipient>: reason" line
//     per recipient, wrapped at 79 columns as Postfix wraps it;
//   - message/delivery-status: Reporting-MTA, Original-Envelope-Id (the
//     ENVID, xtext decoded), X-Postfix-Queue-ID, X-Postfix-Sender,
//     Arrival-Date, then per recipient Final-Recipient, Original-Recipient
//     (the ORCPT, or rfc822;the address the client named), Action
//     (failed, delayed, delivered, relayed), Status, Remote-MTA and
//     "Diagnostic-Code: smtp; <reply>" when a remote server answered (else
//     "X-Postfix; <text>"), and Will-Retry-Until in delay warnings;
//   - the original: message/rfc822 in non-delivery reports unless the
//     sender asked RET=HDRS, text/rfc822-headers in delay warnings and
//     success reports, and headers only for a message larger than
//     bounce_size_limit (50000 bytes), as Postfix does to keep the
//     returned MIME structure whole.
//
// The postmaster is told of problems as notify_classes asks
// (Queue.NotifyClasses; Postfix's default "resource, software" sends
// nothing from the queue): "bounce" sends bounce_notice_recipient a
// "Postmaster Copy: Undelivered Mail" of every non-delivery notice
// (without the template text, the original's headers only, every failed
// recipient whatever its NOTIFY); "2bounce" (implied by "bounce") sends a
// bounce that could not be delivered, whole, to 2bounce_notice_recipient,
// where without it it is dropped; "delay" sends delay_notice_recipient a
// "Postmaster Warning: Delayed Mail" copy of each delay warning (with all
// of a delayed bounce). These
// come from double-bounce@myhostname (double_bounce_sender), and one that
// cannot be delivered is discarded with Postfix's warning
// "undeliverable postmaster notification discarded"; the log says
// "postmaster non-delivery notification: ID" and "postmaster delay
// notification: ID".
//
// The X-Postfix-* field names and the X-Postfix diagnostic type are kept so
// that bounce processors that know Postfix read ours. A message sent with
// SMTPUTF8 gets message/global-delivery-status, "utf-8;" addresses and
// message/global or message/global-headers (RFC 6533); as Postfix does, the
// report-type parameter stays delivery-status. Text from remote servers
// goes into the notice with control characters shown as "?" and cannot
// add header fields or MIME parts; the MIME boundary is Postfix's
// (queue ID, time, host) with a random part added.
//
// # Loop and hop checks
//
// ScanHeaders reads a message's header block — up to header_size_limit
// (DefaultHeaderSizeLimit, 102400 bytes), in pieces whatever the line
// lengths — and counts its Received fields and collects its Delivered-To
// addresses. HeaderInfo.TooManyHops says whether the message exceeds
// hopcount_limit (DefaultHopcountLimit, 50) as Postfix's cleanup(8) counts
// it: Received fields, the receiving server's own included, reaching the
// limit. HeaderInfo.Delivered is local(8)'s forwarding loop check: a
// recipient named by a Delivered-To field is bounced with 5.4.6 "mail
// forwarding loop for ADDR". As in Postfix, the comparison folds ASCII
// case and takes the rest of the field's first line as it is ("<addr>",
// "addr " and folded values do not match).
//
// # Queue listing and control socket
//
// WriteMailq writes the queue as Postfix 3.7's "postqueue -p" (mailq)
// does, byte for byte, and WriteMailqJSON "postqueue -j"'s JSON lines.
//
// A running server exposes its Admin (list, flush, hold, release, delete,
// requeue) on a Unix-domain socket: ListenControl makes it with mode 0600
// (put it in a directory of the server's own), and ServeControl serves it
// until its context ends. On Linux a peer that runs neither as root nor as
// the server's user is refused as well (SO_PEERCRED), whatever the
// socket's mode. ControlCommand is the client ("fullserver queue list" is
// ControlCommand(ctx, path, "list")).
//
// The protocol is one command per connection. The client sends one line of
// at most 512 bytes ended by LF (or CRLF):
//
//	list                       the queue in mailq format
//	list json                  the queue as postqueue -j's JSON lines
//	flush                      deliver all queued mail now (postqueue -f)
//	hold ID|ALL                postsuper -h
//	release ID|ALL             postsuper -H
//	delete ID|ALL              postsuper -d
//	requeue ID|ALL             postsuper -r
//
// An ID is 1 to 64 ASCII letters and digits (a Postfix queue ID), or ALL;
// anything else is refused before it reaches the queue. The server answers
// with a status line, "ok" or "error REASON", then for "ok" the reply's
// text ("Queue flushed", or postsuper's "Placed on hold: 2 messages"), and
// closes the connection. The queue's own errors are logged, not sent. The
// command line must arrive within 10 seconds; at most 16 connections are
// served at once.
//
// # Outbound SMTP: the smtp and relay transports
//
// SMTPTransport is Postfix's smtp(8); register it as Transports["smtp"]
// and Transports["relay"]. Nexthops use transport(5) syntax:
// "example.jp" and "example.jp:2525" are looked up as MX; "[host]",
// "[host]:587" (a relayhost), "[192.0.2.1]" and "[ipv6:2001:db8::1]" are
// not; a list "[a]:587, [b]:587" tries the next for deferred recipients.
//
// Destinations follow RFC 5321 section 5.1: MX by preference, shuffled
// among equal preferences, the domain's own A/AAAA without MX (implicit
// MX), at most smtp_mx_address_limit (5) addresses and
// smtp_mx_session_limit (2) sessions; a 4xx from a server that is not
// the last leaves the recipient for the next. A null MX (RFC 7505)
// bounces with 5.1.10, NXDOMAIN bounces ("Host or domain name not found.
// Name service error for name=... type=MX: Host not found"), SERVFAIL
// and timeouts defer.
//
// TLS follows smtp_tls_security_level (RFC 3207): none, may (the
// default: opportunistic, plaintext when not offered or the handshake
// fails), encrypt, verify (the MX host name), secure (the nexthop
// domain); RootCAs from smtp_tls_CAfile and smtp_tls_CApath
// (LoadRootCAs); WrapperMode for port 465 (RFC 8314). Each session is
// logged as Postfix does: "Untrusted TLS connection established to
// mx.example.jp[192.0.2.1]:25: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256
// (128/128 bits)".
//
// A relayhost is authenticated (RFC 4954) with smtp_sasl_password_maps
// credentials (SASL: the server's host name, then the nexthop as
// written; "user:password"), PLAIN or LOGIN, not in the clear unless
// SASLSecurityOptions allows it; a 535 defers
// (smtp_sasl_auth_soft_bounce). The transaction passes on the DSN
// parameters of RFC 3461 when the server offers DSN (Result.DSNPassed),
// AUTH=, BODY=8BITMIME and SMTPUTF8 (RFC 6531; 5.6.7 when needed and not
// offered), and honours SIZE (RFC 1870; 5.3.4). A message that is not
// declared 7bit goes to a server without 8BITMIME (RFC 6152) converted
// as Postfix converts it (disable_mime_output_conversion = no,
// SMTPTransport.DisableMIMEOutputConversion): the body of a part whose
// Content-Transfer-Encoding is 8bit or binary becomes quoted-printable,
// multipart and message/rfc822 parts are followed, headers are left as
// they are, lines are kept within smtp_line_length_limit (998), and no
// SIZE= is sent; the output is the same, byte for byte, as Postfix
// 3.7's; LMTPTransport converts the same way for an LMTP server without
// 8BITMIME. smtp_fallback_relay (SMTPTransport.FallbackRelay) lists
// destinations tried, as Postfix tries them, for recipients whose own
// destination cannot be found or answers only with 4xx or not at all
// (not after a 5xx, not when this host is one of the destination's MX
// hosts); a fallback relay that cannot be found defers the mail (4.3.5)
// rather than bounce it. Every phase has
// Postfix's time limit (smtp_connect_timeout 30s, smtp_helo_timeout
// 300s, ..., smtp_data_done_timeout 600s). An idle connection is kept
// for smtp_connection_cache_time_limit (2s) and reused with RSET by the
// next delivery to the same nexthop.
//
// Outbound TLS policy (SMTPTransport.TLSPolicy, package tlspolicy): DANE
// (RFC 7672) at smtp_tls_security_level dane and dane-only with a
// DNSSEC-validating resolver, MTA-STS (RFC 8461) and TLS-RPT (RFC 8460)
// counting, per MX nexthop; a [host] nexthop or relayhost gets DANE
// with the host's own TLSA records and no MTA-STS, as in Postfix;
// smtp_tls_policy_maps sets the level per destination
// (SMTPTransport.TLSPolicyMap; attributes ignored).
//
// Not done: SASL mechanisms other
// than PLAIN and LOGIN, XFORWARD, smtp_line_length_limit for mail that
// is not converted.
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
