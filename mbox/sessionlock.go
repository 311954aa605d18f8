package mbox

import (
	"context"
	"fmt"
	"os"

	"github.com/yubinmail/yubin/internal/sessionlock"
	"github.com/yubinmail/yubin/store"
)

var _ store.SessionLocker = (*Store)(nil)

// LockSession implements store.SessionLocker with Dovecot 2.3's
// pop3_lock_session lock, dovecot-pop3-session.lock in the index root,
// where Dovecot puts it (ROOT/.imap: ~/mail/.imap for
// mbox:~/mail:INBOX=/var/mail/%u), so that yubin's
// and Dovecot's POP3 sessions on the same mail exclude each other (see
// internal/sessionlock for the rules of waiting and taking over a stale
// lock).
func (s *Store) LockSession(ctx context.Context) (store.SessionLock, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, store.ErrClosed
	}
	if err := os.MkdirAll(s.indexRoot(), 0o700); err != nil {
		return nil, fmt.Errorf("mbox: %w", err)
	}
	l := &sessionlock.Locker{Dir: s.indexRoot(), Host: s.opts.Hostname, Format: "mbox", Logger: s.opts.Logger}
	return l.Lock(ctx)
}
