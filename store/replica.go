package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Replica is an optional interface of a Store, found by type assertion,
// that lets a replicator (package replicate, as Dovecot's dsync) keep a
// mailbox identical on two servers down to its UIDs, so that an IMAP or
// POP3 client that fails over from one server to the other sees the same
// UIDVALIDITY, UIDs and GUIDs (POP3 UIDLs) on both.
//
// The store contract alone cannot do that: Append picks the UID and makes
// a new GUID. A replicator without Replica still keeps both sides' mail
// identical by GUID, but the UIDs differ and clients see a different
// UIDVALIDITY after a failover.
//
// Every method returns only after what it changed is on stable storage,
// as Append does. Open handles of the mailbox learn of the changes through
// Poll as of any other change (ChangeNew; ChangeUIDValidity for
// ReplicaRenumber).
type Replica interface {
	// ReplicaAppend stores a message with the UID and GUID given in opts
	// (a copy of the partner's message). The UID must be at least the
	// mailbox's UIDNEXT, which becomes UID+1: a UID below it may have
	// been given to another message, and is refused with
	// ErrUIDNotAvailable, never reused. A GUID the format cannot keep is
	// refused with ErrInvalidGUID.
	ReplicaAppend(ctx context.Context, mailbox string, r io.Reader, opts ReplicaAppendOptions) (AppendResult, error)
	// ReplicaSetUIDNext raises the mailbox's UIDNEXT to uidNext (a value
	// at or below the current one changes nothing), so that a UID the
	// partner used and expunged is not given to another message here.
	ReplicaSetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error
	// ReplicaRenumber gives the mailbox a new UIDVALIDITY, which must be
	// greater than the current one (RFC 9051 2.3.1.1) unless the mailbox
	// never gave out a UID (empty, UIDNEXT 1), and renumbers its
	// messages: the message with GUID g gets uids[g]; messages not in
	// uids get UIDs above every value in uids and above uidNext, in
	// their present order. UIDNEXT becomes at least uidNext. Open
	// handles see ChangeUIDValidity.
	ReplicaRenumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error
}

// ReplicaAppendOptions describe the message ReplicaAppend stores.
type ReplicaAppendOptions struct {
	UID          uint32 // > 0, at least the mailbox's UIDNEXT
	GUID         string // the partner's MessageInfo.GUID, kept as it is
	Flags        Flags
	InternalDate time.Time // zero means now
}

// Errors of the Replica methods.
var (
	// ErrUIDNotAvailable: the UID asked of ReplicaAppend is below
	// UIDNEXT (it may have been used), or a UIDVALIDITY asked of
	// ReplicaRenumber is not above the current one.
	ErrUIDNotAvailable = errors.New("store: UID not available in this mailbox")
	// ErrInvalidGUID: the format cannot keep the GUID given (or it does
	// not match the message, as a Maildir name's S= size must).
	ErrInvalidGUID = errors.New("store: GUID not usable by this store")
)
