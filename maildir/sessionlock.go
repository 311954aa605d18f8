package maildir

import (
	"context"

	"github.com/yubinmail/yubin/internal/sessionlock"
	"github.com/yubinmail/yubin/store"
)

// SessionLockName is the POP3 session lock's file name in the Maildir
// root, Dovecot 2.3's (pop3_lock_session, POP3_LOCK_FNAME).
const SessionLockName = sessionlock.Name

var _ store.SessionLocker = (*Store)(nil)

// LockSession implements store.SessionLocker with Dovecot 2.3's
// pop3_lock_session lock, so that yubin and Dovecot POP3 sessions on the
// same Maildir exclude each other: the dotlock SessionLockName in the
// Maildir root, holding "<pid>:<hostname>" like every Dovecot dotlock,
// created whole (a written temporary file hard-linked to the name; an
// O_EXCL create where the file system has no hard links).
//
// A lock held by someone else is waited for until ctx is done. It is
// taken over when it is stale, as Dovecot judges it: it names a process
// on this host that no longer exists, or (when it names no live local
// process) it has not been modified for 5 minutes; a lock that names this
// process but that this process does not hold was left by an earlier
// process with the same pid; an empty lock is an interrupted O_EXCL
// create and is taken over after 5 seconds. A lock that names a live
// process on this host is never taken over, whatever its age.
//
// While held, the lock's mtime is refreshed every minute (Dovecot's
// holders refresh theirs every 5 minutes). Close stops that and removes
// the lock if it is still this one.
func (s *Store) LockSession(ctx context.Context) (store.SessionLock, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, store.ErrClosed
	}
	return s.sessionLock.Lock(ctx)
}
