package store

import "context"

// MessageDataStore is an optional interface of a Mailbox: small data a
// protocol derives from a message's bytes (IMAP's ENVELOPE and
// BODYSTRUCTURE, the header fields SORT and THREAD compare), kept with
// the message so that it is computed once per message content instead
// of once per process and session, as Dovecot's dovecot.index.cache
// keeps imap.envelope and imap.bodystructure. A protocol finds it with a
// type assertion on the Mailbox.
//
// The data are opaque to the store: the protocol names them (an ASCII
// name such as "imap.envelope", at most 64 bytes) and defines their
// encoding, and a change of encoding is a new name. A store may compute
// some names itself at append time (see pgstore.Options.Derive) and may
// drop data at any time: a protocol that finds none derives it from
// the body and may store it with SetMessageData.
type MessageDataStore interface {
	// MessageData calls fn, in ascending UID order, for each message in
	// uids (nil: all) of the handle's view that has data stored under
	// name. Messages without it are skipped. fn's data must not be
	// retained past the call unless copied.
	MessageData(ctx context.Context, uids UIDSet, name string, fn func(uid uint32, data []byte) error) error
	// SetMessageData stores data under name for the message with uid
	// (replacing what was there). It returns ErrNoSuchMessage when the
	// message is gone.
	SetMessageData(ctx context.Context, uid uint32, name string, data []byte) error
}

// MaxMessageDataName bounds a MessageDataStore name.
const MaxMessageDataName = 64

// ValidMessageDataName reports whether name can name message data: 1 to
// MaxMessageDataName bytes of printable ASCII without spaces.
func ValidMessageDataName(name string) bool {
	if name == "" || len(name) > MaxMessageDataName {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= 0x20 || name[i] >= 0x7f {
			return false
		}
	}
	return true
}
