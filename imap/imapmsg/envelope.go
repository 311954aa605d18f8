package imapmsg

// Envelope is the ENVELOPE of a message (RFC 9051 7.5.2): raw header
// values, not RFC 2047 decoded, as IMAP sends them.
type Envelope struct {
	Date, Subject                         string
	From, Sender, ReplyTo, To, Cc, Bcc    []Address
	InReplyTo, MessageID                  string
	hasDate, hasSubject, hasIRT, hasMsgID bool
	dateFolded, subjectFolded, irtFolded  bool
	msgIDFolded                           bool
}

// Address is one address of an ENVELOPE address list. A group is written
// as a start marker (GroupStart, Mailbox is the group's display name)
// followed by its members and an end marker (GroupEnd).
type Address struct {
	Name, ADL, Mailbox, Host string
	GroupStart, GroupEnd     bool
}

// Envelope returns the message's ENVELOPE, built from its header.
// Sender and Reply-To default to From when absent, as RFC 9051 asks.
func (m *Message) Envelope() *Envelope {
	return envelopeOf(m.Root.Header)
}

// Envelope returns the ENVELOPE of the message a message/rfc822 part
// carries, or of the message itself for the root part; nil for others.
func (p *Part) Envelope() *Envelope {
	if p.Message != nil {
		return envelopeOf(p.Message.Header)
	}
	if p.Header != nil {
		return envelopeOf(p.Header)
	}
	return nil
}
