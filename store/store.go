package store

import (
	"context"
	"io"
	"time"
)

// Backend opens users' mail stores. A program wires a concrete format in
// (for example a maildir.Backend that finds each user's Maildir through an
// auth UserDB).
type Backend interface {
	// Open returns the mail store of the named (already authenticated or
	// looked-up) user. It returns ErrNoSuchUser when the backend knows
	// the user does not exist.
	Open(ctx context.Context, user string) (Store, error)
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(ctx context.Context, user string) (Store, error)

// Open calls f(ctx, user).
func (f BackendFunc) Open(ctx context.Context, user string) (Store, error) { return f(ctx, user) }

// Store is one user's mailbox tree. It is safe for concurrent use by many
// sessions of the same user.
type Store interface {
	// ListMailboxes returns every mailbox of the user, parents that exist
	// only as hierarchy included (with NoSelect set), in no particular
	// order. Subscribed is filled in.
	ListMailboxes(ctx context.Context) ([]MailboxInfo, error)
	// CreateMailbox creates a mailbox (and any missing parents). It returns
	// ErrMailboxExists when it exists and ErrInvalidName for a bad name.
	CreateMailbox(ctx context.Context, name string, opts CreateOptions) error
	// DeleteMailbox deletes a mailbox and its messages. A mailbox with
	// children becomes a \Noselect parent (RFC 9051 6.3.4); INBOX cannot be
	// deleted (ErrNotAllowed).
	DeleteMailbox(ctx context.Context, name string) error
	// RenameMailbox renames a mailbox and its children. Renaming INBOX
	// moves its messages to the new mailbox and leaves INBOX empty
	// (RFC 9051 6.3.6).
	RenameMailbox(ctx context.Context, oldName, newName string) error
	// Subscribe adds name to the subscriptions; the mailbox need not exist.
	Subscribe(ctx context.Context, name string) error
	// Unsubscribe removes name from the subscriptions.
	Unsubscribe(ctx context.Context, name string) error
	// Subscriptions lists the subscribed names.
	Subscriptions(ctx context.Context) ([]string, error)
	// Status returns a mailbox's status without opening a session on it
	// (IMAP STATUS, LIST-STATUS).
	Status(ctx context.Context, name string) (MailboxStatus, error)
	// OpenMailbox opens a session handle on a selectable mailbox.
	OpenMailbox(ctx context.Context, name string, opts OpenOptions) (Mailbox, error)
	// Quota reports storage used and limits for the whole store (IMAP
	// QUOTA's root "", LMTP's over-quota checks).
	Quota(ctx context.Context) (Quota, error)
	// Close releases what the store holds. Open mailboxes stay usable
	// until they are closed.
	Close() error
}

// Mailbox is one session's handle on one mailbox. It is used by one
// goroutine at a time; open one handle per session.
//
// Each handle keeps its own view of the mailbox, which changes only on
// Poll and through the handle's own operations. The handle's own Append,
// Copy or Move into its own mailbox, SetFlags and Expunge show in its
// Messages and Status at once and are never reported again by its Poll.
// A message another session appended earlier (with a lower UID) may then
// still arrive from a later Poll, inserted in UID order, so a protocol
// that numbers messages (IMAP sequence numbers) must place new messages
// by UID, not assume they come after the ones it has.
type Mailbox interface {
	// Name returns the mailbox name as the store knows it.
	Name() string
	// Status returns the mailbox's counters as of the last Poll (or open).
	Status(ctx context.Context) (MailboxStatus, error)
	// Messages calls fn for each message whose UID is in uids (nil means
	// all), in ascending UID order, as of the last Poll. fn's MessageInfo
	// must not be retained past the call unless copied (Keywords may be
	// shared). Iteration stops at the first error fn returns, which
	// Messages returns.
	Messages(ctx context.Context, uids UIDSet, fn func(*MessageInfo) error) error
	// Open returns the raw message with the given UID, byte for byte as
	// stored (line endings as stored: use NewCRLFReader for the wire).
	Open(ctx context.Context, uid uint32) (MessageReader, error)
	// Append stores a message and returns its UID. It returns only after
	// the message is on stable storage. r is read to EOF.
	Append(ctx context.Context, r io.Reader, opts AppendOptions) (AppendResult, error)
	// SetFlags changes the flags of the messages in uids. With
	// unchangedSince > 0 (CONDSTORE), messages whose modseq is greater are
	// left alone and returned in failed. The updates of messages that did
	// change (and, with op Replace, of those whose flags were already
	// equal) are returned in UID order with their new modseq.
	SetFlags(ctx context.Context, uids UIDSet, op FlagOp, flags Flags, unchangedSince uint64) (updated []FlagUpdate, failed UIDSet, err error)
	// Expunge permanently removes the messages that have \Deleted set and
	// whose UID is in uids (nil means all) and returns their UIDs in
	// ascending order.
	Expunge(ctx context.Context, uids UIDSet) ([]uint32, error)
	// Copy copies the messages in uids to the mailbox named dest (which
	// may be this one) keeping flags and internal dates. It returns
	// ErrNoSuchMailbox when dest does not exist.
	Copy(ctx context.Context, uids UIDSet, dest string) (CopyResult, error)
	// Move moves the messages in uids to dest, as Copy followed by an
	// expunge of the sources, atomic per message as far as the format
	// allows. CopyResult.Expunged lists the source UIDs removed.
	Move(ctx context.Context, uids UIDSet, dest string) (CopyResult, error)
	// Poll brings the handle up to date with changes made by other handles
	// and other processes and returns them in the order they happened.
	Poll(ctx context.Context) ([]Change, error)
	// Notify returns a channel that receives a value (coalesced: at most
	// one pending) when Poll would return something new. IMAP IDLE waits
	// on it.
	Notify() <-chan struct{}
	// Close ends the session's handle.
	Close() error
}

// MessageReader is a stored message opened for reading. Seeking lets a
// protocol serve partial fetches without reading what comes before.
type MessageReader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size is the stored (physical) size in bytes.
	Size() int64
}

// OpenOptions tunes OpenMailbox.
type OpenOptions struct {
	// ReadOnly opens the mailbox for reading only (IMAP EXAMINE): flag
	// changes, appends and expunges through the handle fail with
	// ErrReadOnly, and messages are not marked no-longer-recent.
	ReadOnly bool
	// KeepRecent opens a writable mailbox without taking \Recent: the
	// messages no session has taken yet are \Recent in this handle, as
	// in a read-only one, and stay \Recent for the next session, while
	// flag changes, appends and expunges work as usual (what the handle
	// appends itself is its own \Recent, as in any writable handle). It
	// is what
	// Dovecot's pop3 does with pop3_no_flag_updates = yes (it opens INBOX
	// without MAILBOX_FLAG_DROP_RECENT); without it a writable handle
	// takes them, as Dovecot's IMAP SELECT and default pop3 do. Stores
	// that keep no \Recent ignore it.
	KeepRecent bool
}

// CreateOptions tunes CreateMailbox.
type CreateOptions struct {
	// SpecialUse is a special-use attribute (RFC 6154) such as `\Sent`,
	// or "". The store remembers it and reports it in MailboxInfo.
	SpecialUse string
}

// AppendOptions are the flags and dates of a message being appended.
type AppendOptions struct {
	Flags Flags
	// InternalDate is IMAP's INTERNALDATE; zero means now.
	InternalDate time.Time
	// LateUID tells the store that the caller does not need the UID
	// (a delivery by LMTP or SMTP rather than an IMAP APPEND): the store
	// may make the message durable without assigning it one and leave
	// that to the next reader of the mailbox, as a Maildir delivered by
	// Postfix's local agent gets its UIDs from Dovecot. The message is
	// as durable as with an assigned UID; AppendResult.UID is then 0.
	LateUID bool
	// NoSync tells a store that implements DeliverySyncer that the
	// caller holds the message durably elsewhere (a mail queue) and
	// calls SyncDeliveries before it lets that copy go: the store may
	// skip its own fsyncs for this append. A store that does not
	// implement DeliverySyncer ignores it.
	NoSync bool
}

// DeliverySyncer is implemented by stores and backends that take
// AppendOptions.NoSync: SyncDeliveries makes every append made with it
// before the call durable, sharing the work among concurrent callers.
type DeliverySyncer interface {
	SyncDeliveries(ctx context.Context) error
}

// AppendResult tells where an appended message went (APPENDUID).
type AppendResult struct {
	UIDValidity uint32
	UID         uint32
}

// CopyResult is the UID mapping of a copy or move (COPYUID): SourceUIDs[i]
// became DestUIDs[i] in the destination mailbox with DestUIDValidity.
type CopyResult struct {
	DestUIDValidity uint32
	SourceUIDs      []uint32
	DestUIDs        []uint32
	// Expunged lists the source UIDs removed by a Move, ascending.
	Expunged []uint32
}

// FlagOp says how SetFlags combines the given flags with a message's own.
type FlagOp int

// The flag operations of IMAP STORE: FLAGS, +FLAGS, -FLAGS.
const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// FlagUpdate is a message's flags after a change.
type FlagUpdate struct {
	UID    uint32
	Flags  Flags
	ModSeq uint64
}
