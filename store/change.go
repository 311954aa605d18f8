package store

// ChangeKind says what a Change reports.
type ChangeKind int

// The kinds of change a Mailbox's Poll reports.
const (
	// ChangeNew: a message was added (Message is set).
	ChangeNew ChangeKind = iota + 1
	// ChangeFlags: a message's flags changed (Message is set, with the
	// new flags and modseq).
	ChangeFlags
	// ChangeExpunge: the message with UID was removed.
	ChangeExpunge
	// ChangeUIDValidity: the mailbox was recreated or its UID list lost;
	// the session must end its selection (IMAP closes it with BYE or
	// [CLOSED] and the client resynchronises).
	ChangeUIDValidity
	// ChangeDeleted: the mailbox was deleted or renamed away.
	ChangeDeleted
)

// Change is one event seen by Poll, in the order events happened.
type Change struct {
	Kind    ChangeKind
	UID     uint32      // for every kind that concerns one message
	Message MessageInfo // for ChangeNew and ChangeFlags
}
