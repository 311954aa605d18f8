package imapmsg

import (
	"io"
	"time"
)

// MatchHeader reports whether the message's top-level header has a field
// named field whose value, RFC 2047 decoded, contains substr
// (case-insensitive). An empty substr matches any message that has the
// field (SEARCH HEADER name ""). Address fields (From, To, Cc, Bcc,
// Sender, Reply-To, Resent-*) match in their normalised form, as in
// Dovecot: "Name <box@host>" with names decoded, quotes and comments
// gone. FROM, TO, CC, BCC and SUBJECT are MatchHeader on those
// fields.
func (m *Message) MatchHeader(field, substr string) bool {
	return matchHeader(m.Root.Header, field, substr)
}

// MatchBody reports whether the decoded text of any text/* part (and the
// bodies of other parts, transfer-decoded) contains substr
// (case-insensitive), as SEARCH BODY does. r is the message's reader.
func (m *Message) MatchBody(r io.ReaderAt, substr string) (bool, error) {
	return m.matchBody(r, substr)
}

// MatchText is SEARCH TEXT: substr in any header block of the message
// (the top-level header, MIME part headers, headers of attached
// messages; decoded "Name: value" lines) or MatchBody.
func (m *Message) MatchText(r io.ReaderAt, substr string) (bool, error) {
	if ok, err := m.matchAllHeaders(r, substr); ok || err != nil {
		return ok, err
	}
	return m.matchBody(r, substr)
}

// SentDate returns the time in the Date: header (SEARCH SENTBEFORE /
// SENTON / SENTSINCE), with its zone, and false when it is missing or
// unparsable (Dovecot then uses INTERNALDATE; the server decides).
func (m *Message) SentDate() (time.Time, bool) {
	v, ok := m.Root.Header.Get("Date")
	if !ok {
		return time.Time{}, false
	}
	return parseDate(v)
}
