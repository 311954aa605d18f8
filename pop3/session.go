package pop3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/store"
)

// The POP3 session states of RFC 1939 section 3. UPDATE is the QUIT
// command itself and needs no state of its own.
type state int

const (
	stateAuthorization state = iota
	stateTransaction
)

// session is one client connection.
type session struct {
	srv    *Server
	conn   net.Conn
	raw    net.Conn // the accepted connection, as ConnState reports it
	r      *bufio.Reader
	w      *bufio.Writer
	bio    *sessionBufs // r and w, from sessionBufPool
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	info   authn.ConnInfo
	state  state
	// refusal, when set, is said instead of the greeting: the
	// connection is over a limit. prelogin is set while the session
	// counts against LoginMaxConnectionsPerIP.
	refusal  *Error
	prelogin bool
	// loginBy is when a session still in the AUTHORIZATION state is
	// disconnected (LoginTimeout from connecting).
	loginBy time.Time
	idle    atomic.Bool

	apopStamp string // APOP timestamp of the greeting, "" without APOP
	user      string // name given by USER
	bad       int    // bad commands so far
	// errReplies counts the -ERR replies sent, for Server.CommandHook.
	errReplies int

	// TRANSACTION state
	identity *authn.Identity
	locked   string // user whose session lock is held
	userIP   string // key counted against MaxUserIPConnections
	st       store.Store
	mbox     store.Mailbox
	drop     *maildrop
	quit     bool

	bufs *retrBufs // from retrBufPool once RETR is used
	// Read-ahead (readAhead): nextRetr is the message number after the
	// one the last command retrieved (0 after any other command); ahead
	// is the number whose whole RETR reply is in bufs.ahead (0: none).
	nextRetr, ahead int

	// When the read and write deadlines in force were set
	// (refreshDeadline).
	readSet, writeSet time.Time

	lo logoutState // for Server.LogoutHook (logout.go)
}

func newSession(srv *Server, c net.Conn) *session {
	s := &session{srv: srv, conn: c, raw: c}
	s.ctx, s.cancel = context.WithCancel(srv.baseCtx)
	s.bio = getSessionBufs() // sessionbufs.go
	s.r, s.w = s.bio.r, s.bio.w
	s.r.Reset(c)
	s.lo.out.W = c
	if sio := newSocketIO(c); sio != nil {
		s.r.Reset(sio)
		s.lo.out.W = sio
	}
	s.w.Reset(&s.lo.out)
	s.info = authn.ConnInfo{Service: "pop3", LocalAddr: c.LocalAddr(), RemoteAddr: c.RemoteAddr()}
	s.log = srv.logger().With("remote", c.RemoteAddr().String())
	s.loginBy = time.Now().Add(orDefault(srv.LoginTimeout, DefaultLoginTimeout))
	return s
}

// serve runs the session to its end. A panic inside is logged and ends
// only this connection.
func (s *session) serve() {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("pop3: panic in session", "panic", p)
		}
		s.close()
	}()
	if s.refusal != nil {
		s.log.Info("pop3: connection refused", "rip", remoteIP(s.info.RemoteAddr), "reason", s.refusal.Text)
		if _, ok := s.conn.(*tls.Conn); !ok {
			// On implicit TLS nothing is said: a handshake would give the
			// client what the limit is there to withhold.
			s.reply(s.refusal)
		}
		s.flush()
		return
	}
	if tc, ok := s.conn.(*tls.Conn); ok {
		if !s.handshake(tc) {
			return
		}
	}
	s.greet()
	for !s.quit {
		if s.bad >= orDefault(s.srv.MaxBadCommands, DefaultMaxBadCommands) {
			s.reply(errTooManyBad)
			s.endReason(errTooManyBad.Text)
			s.flush()
			return
		}
		line, err := s.readCommand()
		if err != nil && !errors.Is(err, errLineTooLong) {
			s.endOnReadError(err)
			return
		}
		if s.srv.CommandHook != nil {
			s.hookedCommand(line, err)
		} else {
			s.command(line, err)
		}
	}
}

// command runs one command line, or answers one that was too long
// (err), and returns the keyword it dispatched, "" when it dispatched
// none.
func (s *session) command(line []byte, err error) string {
	if err != nil {
		s.bad++
		s.reply(&Error{Text: "Command line too long (the limit is " + itoa(orDefault(s.srv.MaxLineLength, DefaultMaxLineLength)) + " octets with CRLF)."})
		return ""
	}
	cmd, perr := parseCommand(line)
	if perr != nil {
		s.bad++
		s.reply(perr)
		return ""
	}
	s.dispatch(cmd)
	return cmd.name
}

// readCommand waits for the next command line; while it waits the
// session counts as idle for Shutdown.
func (s *session) readCommand() ([]byte, error) {
	if !s.lineBuffered() {
		if !s.flush() {
			return nil, errWriteFailed
		}
		// The client is reading the replies; prepare the RETR it is
		// likely to send next meanwhile.
		s.readAhead()
	} else {
		s.nextRetr, s.ahead = 0, 0
	}
	return s.readCommandLine(orDefault(s.srv.MaxLineLength, DefaultMaxLineLength))
}

// readCommandLine reads a client line of at most max bytes, flushing
// pending replies first unless a further pipelined command is already
// buffered.
func (s *session) readCommandLine(max int) ([]byte, error) {
	if !s.lineBuffered() {
		if !s.flush() {
			return nil, errWriteFailed
		}
	}
	if s.state == stateAuthorization {
		// Commands before login do not move LoginTimeout's deadline.
		d := time.Now().Add(orDefault(s.srv.IdleTimeout, DefaultIdleTimeout))
		if s.loginBy.Before(d) {
			d = s.loginBy
		}
		s.conn.SetReadDeadline(d)
		s.readSet = time.Time{}
	} else {
		s.readSet = refreshDeadline(s.conn.SetReadDeadline, s.readSet, orDefault(s.srv.IdleTimeout, DefaultIdleTimeout))
	}
	s.idle.Store(true)
	defer s.idle.Store(false)
	if s.srv.closing() {
		return nil, errShuttingDown
	}
	return readLine(s.r, max)
}

// lineBuffered reports whether a whole pipelined line is already
// waiting, so replies can stay buffered until it is handled.
func (s *session) lineBuffered() bool {
	n := s.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := s.r.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

func (s *session) endOnReadError(err error) {
	var ne net.Error
	switch {
	case s.srv.closing():
		s.reply(errShutdown)
		s.endReason(errShutdown.Text)
	case errors.As(err, &ne) && ne.Timeout():
		s.reply(&Error{Text: "Disconnected for inactivity."})
		s.endReason("Disconnected for inactivity")
	default:
		return // the client went away: nothing to say
	}
	s.flush()
}

func (s *session) greet() {
	text := s.srv.Greeting
	if text == "" {
		text = DefaultGreeting
	}
	if s.credentials() != nil {
		s.apopStamp = newAPOPStamp(s.srv.Hostname)
		text += " " + s.apopStamp
	}
	s.okf("%s", text)
}

// handshake completes a TLS handshake (implicit TLS or STLS) within
// TLSHandshakeTimeout and records the connection state.
func (s *session) handshake(tc *tls.Conn) bool {
	ctx, cancel := context.WithTimeout(s.ctx, orDefault(s.srv.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout))
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Info("pop3: TLS handshake failed", "err", err)
		return false
	}
	cs := tc.ConnectionState()
	s.info.TLS = &cs
	s.conn = tc
	s.readSet, s.writeSet = time.Time{}, time.Time{}
	s.r.Reset(tc)
	s.lo.out.W = tc
	s.w.Reset(&s.lo.out)
	return true
}

// close ends the session: nothing marked with DELE is removed unless QUIT
// already did it; \Seen flags of retrieved messages are stored.
func (s *session) close() {
	s.reportLogout()
	if s.drop != nil && !s.quit {
		s.storeSeen()
	}
	s.closeMailbox()
	s.flush()
	s.conn.Close()
	if s.bio != nil {
		s.bio.put()
		s.bio, s.r, s.w = nil, nil, nil
	}
	if s.bufs != nil {
		if cap(s.bufs.scratch) <= 1<<20 {
			retrBufPool.Put(s.bufs)
		}
		s.bufs = nil
	}
	s.cancel()
	s.endPrelogin()
	s.srv.sessions.Untrack(s)
}

// endPrelogin stops counting the session against
// LoginMaxConnectionsPerIP: it logged in or ended.
func (s *session) endPrelogin() {
	if s.prelogin {
		s.prelogin = false
		s.srv.prelogin.Release(s.info.RemoteAddr)
	}
}

// Drain asks the session to end at its next command with
// "-ERR [SYS/TEMP]" (serve.Session): a session waiting for a command is
// woken at once; one running a command sees the server closing before it
// reads the next. The session sets its idle flag before it checks
// closing, and Drain runs after closing is set, so one of the two always
// sees the other.
func (s *session) Drain() {
	if s.idle.Load() {
		s.conn.SetReadDeadline(time.Now())
	}
}

// Abort closes the connection at once (serve.Session).
func (s *session) Abort() { s.conn.Close() }

func (s *session) closeMailbox() {
	if s.mbox != nil {
		s.mbox.Close()
		s.mbox = nil
	}
	if s.st != nil {
		s.st.Close()
		s.st = nil
	}
	if s.locked != "" {
		s.srv.unlockUser(s.locked)
		s.locked = ""
	}
	if s.userIP != "" {
		s.srv.releaseUserIP(s.userIP)
		s.userIP = ""
	}
	s.drop = nil
}

// flush sends buffered replies; false when the connection is broken.
func (s *session) flush() bool {
	if s.w.Buffered() == 0 {
		return true
	}
	s.setWriteDeadline()
	return s.w.Flush() == nil
}

// setWriteDeadline gives the writes that follow WriteTimeout.
func (s *session) setWriteDeadline() {
	s.writeSet = refreshDeadline(s.conn.SetWriteDeadline, s.writeSet, orDefault(s.srv.WriteTimeout, DefaultWriteTimeout))
}

// refreshDeadline sets a deadline d from now with set, unless the one
// set at last (returned by the previous call) is less than d/16 old:
// moving the connection's timer on every command and reply costs more
// than the timeout needs, and a deadline 15/16 of d away serves as well.
// It returns when the deadline in force was set.
func refreshDeadline(set func(time.Time) error, last time.Time, d time.Duration) time.Time {
	now := time.Now()
	if !last.IsZero() && now.Sub(last) < d/16 {
		return last
	}
	set(now.Add(d))
	return now
}

// writeWhole sends p, one whole reply: straight to the connection when
// nothing is buffered (saving its copy into the buffer), else through
// the buffer.
func (s *session) writeWhole(p []byte) error {
	if s.w.Buffered() > 0 {
		return s.write(p)
	}
	s.setWriteDeadline()
	if _, err := s.lo.out.Write(p); err != nil { // s.conn, counted
		return errWriteFailed
	}
	return nil
}

// write buffers raw bytes, flushing (with a deadline) when the buffer is
// full.
func (s *session) write(p []byte) error {
	if len(p) > s.w.Available() && s.w.Buffered() > 0 {
		if !s.flush() {
			return errWriteFailed
		}
	}
	if len(p) > s.w.Available() {
		s.setWriteDeadline()
	}
	_, err := s.w.Write(p)
	return err
}

func (s *session) writeString(str string) error {
	if len(str) > s.w.Available() && s.w.Buffered() > 0 {
		if !s.flush() {
			return errWriteFailed
		}
	}
	_, err := s.w.WriteString(str)
	return err
}

// okf writes "+OK text".
func (s *session) okf(format string, args ...any) {
	text := format
	if len(args) > 0 {
		text = sprintf(format, args...)
	}
	if text == "" {
		s.writeString("+OK\r\n")
		return
	}
	s.writeString("+OK " + text + "\r\n")
}

// reply writes an -ERR line for err: an *Error as it is, anything else
// as a generic temporary failure (Go error text never reaches the
// client).
func (s *session) reply(err error) {
	var e *Error
	if !errors.As(err, &e) {
		s.log.Warn("pop3: internal error", "err", err)
		e = errInternal
	}
	s.errReplies++
	s.writeString(e.line())
}

// fail counts a refused command and writes its -ERR.
func (s *session) fail(err error) {
	s.bad++
	s.reply(err)
}

func (s *session) credentials() authn.CredentialLookup {
	if s.srv.Credentials != nil {
		return s.srv.Credentials
	}
	if cl, ok := s.srv.Authenticator.(authn.CredentialLookup); ok {
		return cl
	}
	return nil
}

// plaintextAllowed reports whether USER/PASS (and plaintext SASL
// mechanisms) may be used now: on TLS, or where the Authenticator allows
// it (Dovecot's disable_plaintext_auth = no, loopback, trusted networks).
func (s *session) plaintextAllowed() bool {
	if s.srv.Authenticator == nil {
		return false
	}
	return s.info.TLS != nil || s.srv.Authenticator.PlaintextAllowed(&s.info)
}
