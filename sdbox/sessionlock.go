package sdbox

import (
	"context"

	"github.com/yubinmail/yubin/internal/sessionlock"
	"github.com/yubinmail/yubin/store"
)

var _ store.SessionLocker = (*Store)(nil)

// LockSession implements store.SessionLocker with Dovecot 2.3's
// pop3_lock_session lock, dovecot-pop3-session.lock in the sdbox root,
// so that yubin's and Dovecot's POP3 sessions on the same mail exclude
// each other (see internal/sessionlock for the rules of waiting and
// taking over a stale lock).
func (s *Store) LockSession(ctx context.Context) (store.SessionLock, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, store.ErrClosed
	}
	l := &sessionlock.Locker{Dir: s.root, Host: s.opts.Hostname, Format: "sdbox", Logger: s.opts.Logger, Chown: s.chown}
	return l.Lock(ctx)
}
