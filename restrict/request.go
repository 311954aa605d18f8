package restrict

import "net/netip"

// Request is what the SMTP server knows about a client and its message at
// the moment it asks for a [Decision]. Fields that are not known yet (the
// recipient at MAIL FROM, for instance) are left zero.
type Request struct {
	// ClientAddr is the client's IP address.
	ClientAddr netip.Addr
	// ClientName is the client's verified reverse name (PTR whose A/AAAA
	// lookup gives ClientAddr back), or "unknown". An empty string counts
	// as "unknown".
	ClientName string
	// ReverseClientName is the unverified PTR name, or "unknown"; used by
	// reject_rhsbl_reverse_client and reject_unknown_reverse_client_hostname.
	// Empty means the same as ClientName.
	ReverseClientName string
	// Helo is the HELO/EHLO argument as sent, "" before HELO.
	Helo string
	// Sender is the MAIL FROM address without angle brackets; "" for the
	// null sender <>.
	Sender string
	// Recipient is the RCPT TO address without angle brackets.
	Recipient string
	// SASLUser is the authenticated SASL login name, "" when none.
	SASLUser string
	// TLS reports whether the session is encrypted.
	TLS bool
	// RecipientCount is the number of recipients accepted so far.
	RecipientCount int
	// Size is the SIZE= value from MAIL FROM, or the message's actual size
	// at StageEndOfData.
	Size int64
	// QueueID is the queue ID assigned to the message, if any (logging).
	QueueID string
	// Pipelined reports that the client sent this command before it read
	// the reply to an earlier one where that is not allowed (used by
	// reject_unauth_pipelining).
	Pipelined bool
	// Header holds the message header at StageEndOfData; when non-nil,
	// header_checks are applied to it.
	Header []HeaderLine
}

// HeaderLine is one logical header field, unfolded or folded as received.
type HeaderLine struct {
	// Name is the field name without the colon ("Received").
	Name string
	// Value is everything after the colon, including folding line breaks.
	Value string
}

// String returns the header as header_checks sees it: "Name: value" with
// line folding preserved, as Postfix matches it.
func (h HeaderLine) String() string {
	if len(h.Value) > 0 && (h.Value[0] == ' ' || h.Value[0] == '\t') {
		return h.Name + ":" + h.Value
	}
	return h.Name + ": " + h.Value
}

func (r *Request) clientName() string {
	if r.ClientName == "" {
		return "unknown"
	}
	return r.ClientName
}

func (r *Request) reverseClientName() string {
	if r.ReverseClientName == "" {
		return r.clientName()
	}
	return r.ReverseClientName
}
