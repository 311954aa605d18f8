package pop3

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/store"
)

// authError maps an Authenticator error to the reply (RFC 3206 codes).
func authError(err error) error {
	switch {
	case errors.Is(err, authn.ErrPlaintextNotAllowed):
		return errPlaintext
	case errors.Is(err, authn.ErrTempFail):
		return errAuthTemp
	case errors.Is(err, authn.ErrAborted):
		return &Error{Text: "Authentication aborted by client."}
	case errors.Is(err, authn.ErrMalformed):
		return &Error{Text: "Malformed authentication data."}
	case errors.Is(err, authn.ErrUnsupportedMechanism):
		return &Error{Text: "Unsupported authentication mechanism."}
	default:
		return errAuthFailed
	}
}

// login enters the TRANSACTION state for an authenticated identity:
// LOGIN-DELAY, the session lock, the user's store and its INBOX.
func (s *session) login(id *authn.Identity) {
	if id == nil || id.User == "" {
		s.fail(errAuthFailed)
		return
	}
	user := id.User
	if s.srv.Backend == nil {
		s.fail(&Error{Code: CodeSysPerm, Text: "No mail store is configured."})
		return
	}
	key := user + "\x00" + remoteIP(s.info.RemoteAddr)
	if !s.srv.takeUserIP(key) {
		limit := orDefault(s.srv.MaxUserIPConnections, DefaultMaxUserIP)
		s.log.Info("pop3: login refused: maximum number of connections from user+IP exceeded", "user", user, "rip", remoteIP(s.info.RemoteAddr), "mail_max_userip_connections", limit)
		s.fail(&Error{Code: CodeInUse, Text: "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=" + itoa(limit) + ")."})
		return
	}
	s.userIP = key
	if s.srv.LockSession {
		if !s.srv.lockUser(user) {
			s.closeMailbox()
			s.fail(errInUse)
			return
		}
		s.locked = user
	}
	if err := s.openStore(user); err != nil {
		s.closeMailbox()
		s.loginFailed(user, err)
		return
	}
	if s.srv.loginTooSoon(user, time.Now()) {
		s.closeMailbox()
		s.fail(errLoginDelay)
		return
	}
	if err := s.openInbox(); err != nil {
		s.closeMailbox()
		s.loginFailed(user, err)
		return
	}
	s.identity = id
	s.state = stateTransaction
	s.srv.connState(s.raw, StateAuth)
	s.endPrelogin()
	s.user = ""
	s.log = s.log.With("user", user)
	s.log.Info("pop3: login", "messages", len(s.drop.msgs))
	s.okf("Logged in.")
}

// openStore opens user's Store and, with LockSession, takes the Store's
// session lock when it has one (store.SessionLocker), waiting up to
// Server.LockSessionWait.
func (s *session) openStore(user string) error {
	st, err := s.srv.Backend.Open(s.ctx, user)
	if err != nil {
		return err
	}
	s.st = st
	if !s.srv.LockSession {
		return nil
	}
	sl, ok := st.(store.SessionLocker)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, orDefault(s.srv.LockSessionWait, DefaultLockSessionWait))
	lock, err := sl.LockSession(ctx)
	cancel()
	if err != nil {
		return err
	}
	s.st = &lockedStore{Store: st, lock: lock}
	return nil
}

// openInbox opens INBOX in the session's Store and takes its snapshot.
func (s *session) openInbox() error {
	// With NoFlagUpdates the messages stay \Recent for the next IMAP
	// session, as Dovecot's pop3 leaves them then.
	mbox, err := s.st.OpenMailbox(s.ctx, store.Inbox, store.OpenOptions{KeepRecent: s.srv.NoFlagUpdates})
	if err != nil {
		return err
	}
	s.mbox = mbox
	d, err := loadMaildrop(s.ctx, mbox)
	if err != nil {
		return err
	}
	s.drop = d
	s.startLogout(d)
	return nil
}

// lockedStore is a session's Store together with its session lock:
// closing it (session.closeMailbox, after the mailbox handle) releases
// the lock and then the Store.
type lockedStore struct {
	store.Store
	lock store.SessionLock
}

func (l *lockedStore) Close() error {
	return errors.Join(l.lock.Close(), l.Store.Close())
}

// errLockLost is Dovecot's answer when its session lock cannot be kept.
var errLockLost = &Error{Code: CodeSysTemp, Text: "Couldn't update POP3 session lock."}

// lockLost reports whether the session's lock was taken over by someone
// else while it was held.
func (s *session) lockLost() bool {
	l, ok := s.st.(*lockedStore)
	if !ok {
		return false
	}
	select {
	case <-l.lock.Lost():
		return true
	default:
		return false
	}
}

// endLockLost ends a session whose lock was lost, as Dovecot's pop3
// does: "-ERR [SYS/TEMP]" and a disconnect, with nothing deleted and no
// flags stored, since another session may be working on the mailbox.
func (s *session) endLockLost() {
	s.log.Warn("pop3: session lock lost, disconnecting")
	s.reply(errLockLost)
	s.quit = true
	s.drop = nil
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// loginFailed logs and answers a login that failed in the store.
func (s *session) loginFailed(user string, err error) {
	if errors.Is(err, store.ErrMailboxInUse) {
		s.log.Info("pop3: mailbox locked by another POP3 session", "user", user)
	} else {
		s.log.Warn("pop3: opening mailbox failed", "user", user, "err", err)
	}
	s.fail(storeError(err))
}

// storeError maps a store error met while logging in to its reply.
func storeError(err error) *Error {
	switch {
	case errors.Is(err, store.ErrMailboxInUse):
		return errInUse
	case errors.Is(err, store.ErrNoSuchUser):
		return &Error{Code: CodeSysPerm, Text: "No mailbox for this user."}
	default:
		return &Error{Code: CodeSysTemp, Text: "Couldn't open the mailbox, try again later."}
	}
}
