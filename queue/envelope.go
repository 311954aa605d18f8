package queue

import "time"

// Envelope is what a queued message carries besides its content: the
// sender, the recipients with their routes, the DSN parameters of RFC
// 3461 and what is known of the client that handed the message in.
type Envelope struct {
	// ID is the queue ID. Enqueue sets it when empty; a caller that has
	// already logged an ID (the SMTP session's) passes it in.
	ID string
	// From is the envelope sender, "" for the null sender <>.
	From string
	// Recipients are the final recipients. A recipient without a
	// Transport is routed by Queue.Router at each delivery attempt, so
	// that a change of transport_maps or relayhost applies to mail
	// already queued (postsuper -r); one with a Transport keeps it.
	Recipients []Recipient
	// Arrival is when the message was received; Enqueue sets it when
	// zero.
	Arrival time.Time
	// Ret is the DSN RET parameter: "FULL", "HDRS" or "" (absent).
	Ret string
	// EnvID is the DSN ENVID parameter as sent (xtext), "" when absent.
	EnvID string
	// Body is the MAIL FROM BODY parameter: "7BIT", "8BITMIME",
	// "BINARYMIME" or "".
	Body string
	// UTF8 is the SMTPUTF8 parameter of MAIL FROM (RFC 6531).
	UTF8 bool
	// Auth is the AUTH= parameter to pass to the next hop (RFC 4954
	// section 5): the authenticated submitter, "" when unknown.
	Auth string
	// Client describes the client that handed the message in, for logs
	// and DSNs.
	Client Client
	// Hold puts the message in the hold queue instead of delivering it
	// (Postfix's HOLD action, postsuper -h).
	Hold bool
	// Hops is the number of Received headers the message carries;
	// Enqueue counts them while storing the message and keeps the larger
	// count. A message whose count reaches Queue.HopcountLimit is
	// bounced (mail loop), as Postfix's cleanup(8) counts.
	Hops int
}

// Client is the client a message came from.
type Client struct {
	// Addr is the client's IP address ("" for local submission).
	Addr string
	// Name is the client's verified host name or "unknown".
	Name string
	// Helo is the HELO/EHLO argument.
	Helo string
	// Protocol is "SMTP", "ESMTP", "ESMTPS", "ESMTPSA", "LMTP", or
	// "local".
	Protocol string
}

// Recipient is one final recipient of a queued message.
type Recipient struct {
	// Addr is the address delivered to.
	Addr string
	// Orig is the address the client named (RCPT TO) when Addr came
	// from alias expansion; it is logged as orig_to and used as the
	// Original-Recipient of DSNs when ORcpt is empty.
	Orig string
	// Notify is the DSN NOTIFY parameter ("NEVER", or a comma list of
	// SUCCESS, FAILURE, DELAY), "" when absent (FAILURE and DELAY).
	Notify string
	// ORcpt is the DSN ORCPT parameter as sent ("rfc822;a@example.jp").
	ORcpt string
	// Transport names the Queue.Transports entry that delivers to this
	// recipient ("local", "lmtp", "smtp", "relay", "error", ...); with
	// Nexthop it is the route, as transport_maps(5) writes it. When it
	// is empty, Queue.Router routes the recipient at each attempt.
	Transport string
	// Nexthop is the transport's destination: a domain or
	// "[host]:port" for smtp, "unix:/path" or "inet:host:port" for lmtp,
	// the text for error.
	Nexthop string
}

// notify reports whether the recipient asked for DSNs of kind
// ("SUCCESS", "FAILURE" or "DELAY"); without NOTIFY, FAILURE and DELAY
// are sent (RFC 3461 section 4.1).
func (r *Recipient) notify(kind string) bool {
	if r.Notify == "" {
		return kind != "SUCCESS"
	}
	for _, k := range splitComma(r.Notify) {
		if equalFold(k, kind) {
			return true
		}
	}
	return false
}
