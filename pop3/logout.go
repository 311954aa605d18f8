package pop3

import (
	"strings"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/internal/serve"
)

// Logout is how a logged-in session ended, with what Dovecot's pop3
// process puts in its "Disconnected:" line (pop3_logout_format's
// default, "top=%t/%p, retr=%r/%b, del=%d/%m, size=%s"), reported to
// Server.LogoutHook.
type Logout struct {
	// Conn is the connection, the same *ConnInfo the Authenticator saw
	// at login.
	Conn *authn.ConnInfo
	// User is the logged-in user.
	User string
	// Reason is Dovecot's: "Logged out" (QUIT), "Connection closed",
	// "Disconnected for inactivity", "Server shutting down", or the
	// text of another error that ended the session.
	Reason string
	// Top and TopBytes count the TOP commands answered and the bytes of
	// their replies (all but the final "."); Retr and RetrBytes the same
	// for RETR (Dovecot's %t %p %r %b).
	Top, Retr           int
	TopBytes, RetrBytes int64
	// Deleted is how many messages QUIT removed; Messages and Size are
	// the maildrop's count and size at login (%d %m %s).
	Deleted, Messages int
	Size              int64
}

// logoutState is what the session keeps for its Logout.
type logoutState struct {
	out      serve.CountWriter // under s.w
	loggedIn bool
	reason   string // set where the session ends, "" until then
	l        Logout
}

// sent is how many bytes the session has written, buffered or not.
func (s *session) sent() int64 { return s.lo.out.N + int64(s.w.Buffered()) }

// startLogout notes the maildrop at login.
func (s *session) startLogout(d *maildrop) {
	s.lo.loggedIn = true
	s.lo.l.Messages, s.lo.l.Size = len(d.msgs), d.size
}

// endReason records why the session ends (the first reason given).
func (s *session) endReason(text string) {
	if s.lo.reason == "" {
		s.lo.reason = strings.TrimSuffix(text, ".")
	}
}

// countMessageCommand runs a RETR or TOP and counts it for the Logout:
// its reply's bytes, the "+OK" line and dot-stuffing included, without
// the final ".", as Dovecot counts them.
func (s *session) countMessageCommand(h handler, c command) {
	before, errs := s.sent(), s.errReplies
	h.run(s, c)
	if s.errReplies != errs || s.quit {
		return
	}
	n := max(s.sent()-before-3, 0) // as Dovecot: all but the final ".\r\n"
	if c.name == "TOP" {
		s.lo.l.Top++
		s.lo.l.TopBytes += n
		return
	}
	s.lo.l.Retr++
	s.lo.l.RetrBytes += n
}

// reportLogout calls Server.LogoutHook for a session that logged in.
func (s *session) reportLogout() {
	if s.srv.LogoutHook == nil || !s.lo.loggedIn || s.identity == nil {
		return
	}
	l := s.lo.l
	l.Conn, l.User, l.Reason = &s.info, s.identity.User, s.lo.reason
	if l.Reason == "" {
		l.Reason = "Connection closed"
	}
	s.srv.LogoutHook(&l)
}
