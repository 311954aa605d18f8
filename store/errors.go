package store

import "errors"

// Errors a store returns; protocols map them to wire responses (for IMAP:
// ErrNoSuchMailbox is [NONEXISTENT] or, for COPY/APPEND, [TRYCREATE];
// ErrQuotaExceeded is [OVERQUOTA]; LMTP answers 552 5.2.2). Formats wrap
// them with detail; test with errors.Is.
var (
	ErrNoSuchUser     = errors.New("store: no such user")
	ErrNoSuchMailbox  = errors.New("store: no such mailbox")
	ErrMailboxExists  = errors.New("store: mailbox already exists")
	ErrInvalidName    = errors.New("store: invalid mailbox name")
	ErrNotAllowed     = errors.New("store: operation not allowed on this mailbox")
	ErrNoSuchMessage  = errors.New("store: no such message")
	ErrQuotaExceeded  = errors.New("store: quota exceeded")
	ErrTooBig         = errors.New("store: message too big")
	ErrReadOnly       = errors.New("store: mailbox opened read-only")
	ErrMailboxGone    = errors.New("store: mailbox was deleted or its UIDs reset")
	ErrClosed         = errors.New("store: closed")
	ErrMailboxInUse   = errors.New("store: mailbox is locked by another session")
	ErrTemporary      = errors.New("store: temporary failure, try again")
	ErrKeywordInvalid = errors.New("store: invalid keyword")
)
