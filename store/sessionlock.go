package store

import (
	"context"
	"io"
)

// SessionLocker is an optional interface of a Store: an exclusive lock on
// the user's mail, held for the length of one protocol session and
// respected by other processes on the same storage. It is what POP3's
// pop3_lock_session needs (Dovecot 2.3 keeps a dovecot-pop3-session.lock
// dotlock in the mailbox list's root); pop3 finds it with a type
// assertion on the Store a Backend returned.
//
// The lock belongs to the call, not to the Store: a Backend that shares
// one Store among a user's sessions still gives each LockSession call its
// own lock, a second call on the same Store waits and fails like a call
// from another process, and closing one lock never releases another.
type SessionLocker interface {
	// LockSession takes the user's session lock, waiting while another
	// session (of this process or another, yubin or not) holds it, until
	// ctx is done; a ctx that is already done makes a single attempt.
	// When the wait ends with the lock still held elsewhere it returns
	// an error that matches ErrMailboxInUse (and ctx's error) with
	// errors.Is; any other error is a failure to lock (permissions, I/O).
	//
	// The returned lock must be closed once the session ends. While
	// held, it is kept from looking abandoned (refreshed in the
	// background if the format needs it).
	LockSession(ctx context.Context) (SessionLock, error)
}

// SessionLock is a session lock taken with SessionLocker.LockSession.
type SessionLock interface {
	// Close releases the lock; calling it again does nothing. It
	// reports an error when the lock was found taken over or removed by
	// someone else meanwhile.
	io.Closer
	// Lost returns a channel that is closed when the lock is found taken
	// over or removed by someone else while held: the session no longer
	// keeps others out and should end without changing the mailbox, as
	// Dovecot's pop3 does when it cannot refresh its lock.
	Lost() <-chan struct{}
}
