package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
)

// session is one client connection.
type session struct {
	srv     *Server
	conn    net.Conn // the connection, TLS once STARTTLS has run
	raw     net.Conn // the accepted connection, as ConnState reports it
	replyOK bool     // the command's final reply was OK, for CommandHook
	r       *bufio.Reader
	w       *bufio.Writer
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	info    authn.ConnInfo

	refusal  *Error // said instead of the greeting
	prelogin bool   // counted against LoginMaxConnectionsPerIP
	loginBy  time.Time
	idle     atomic.Bool

	id      *authn.Identity // nil before login
	scripts Scripts
	bad     int // bad commands so far
	cmds    int // commands before login
	quit    bool
}

func newSession(srv *Server, c net.Conn) *session {
	s := &session{srv: srv, conn: c, raw: c}
	s.ctx, s.cancel = context.WithCancel(srv.baseCtx)
	s.r = bufio.NewReaderSize(c, 4096)
	s.w = bufio.NewWriterSize(c, 8192)
	s.info = authn.ConnInfo{Service: "sieve", LocalAddr: c.LocalAddr(), RemoteAddr: c.RemoteAddr()}
	s.log = srv.logger().With("remote", c.RemoteAddr().String())
	s.loginBy = time.Now().Add(orDefault(srv.LoginTimeout, DefaultLoginTimeout))
	return s
}

// serve runs the session to its end; a panic ends only this session.
func (s *session) serve() {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("managesieve: panic in session", "panic", p)
		}
		s.close()
	}()
	if s.refusal != nil {
		s.log.Info("managesieve: connection refused", "reason", s.refusal.Text)
		s.reply(s.refusal)
		s.flush()
		return
	}
	s.writeCapabilities()
	s.ok("", s.greeting())
	for !s.quit {
		if s.bad >= s.maxBad() {
			s.reply(errTooManyBad)
			return
		}
		if s.id == nil && s.cmds >= orDefault(s.srv.MaxLoginCommands, DefaultMaxLoginCommands) {
			s.reply(&Error{Bye: true, Text: "Too many commands before login."})
			return
		}
		c, err := s.readCommand()
		if err != nil {
			if !s.commandError(c, err) {
				return
			}
			continue
		}
		if s.id == nil {
			s.cmds++
		}
		bad, loggedIn := s.bad, s.id != nil
		start := time.Now()
		s.replyOK = false
		s.dispatch(c)
		if h := s.srv.CommandHook; h != nil {
			h(hookName(c.name), s.replyOK, time.Since(start))
		}
		if loggedIn && s.bad == bad {
			// As Pigeonhole's managesieve: only malformed commands in
			// a row count; a command carried out (refused or not)
			// resets the count.
			s.bad = 0
		}
	}
}

func (s *session) greeting() string {
	if s.srv.Greeting != "" {
		return s.srv.Greeting
	}
	return DefaultGreeting
}

// limits returns the parser's limits in the session's state.
func (s *session) limits() limits {
	lim := limits{line: orDefault(s.srv.MaxLineLength, DefaultMaxLineLength)}
	if s.id == nil {
		lim.literal = int64(orDefault(s.srv.MaxAuthSize, DefaultMaxAuthSize))
	} else {
		lim.literal = orDefault(s.srv.MaxScriptSize, DefaultMaxScriptSize)
	}
	return lim
}

// readCommand flushes the replies and waits for the next command; the
// session counts as idle meanwhile, for Shutdown.
func (s *session) readCommand() (command, error) {
	if !s.flush() {
		return command{}, io.ErrClosedPipe
	}
	s.setReadDeadline()
	s.idle.Store(true)
	defer s.idle.Store(false)
	if s.srv.sessions.Closing() {
		return command{}, errShuttingDown
	}
	return readCommand(s.r, s.limits())
}

var errShuttingDown = errors.New("managesieve: shutting down")

func (s *session) setReadDeadline() {
	d := time.Now().Add(orDefault(s.srv.IdleTimeout, DefaultIdleTimeout))
	if s.id == nil && s.loginBy.Before(d) {
		d = s.loginBy
	}
	s.conn.SetReadDeadline(d)
}

// commandError answers a command that could not be read; false ends
// the session.
func (s *session) commandError(c command, err error) bool {
	var lt *literalTooLarge
	var ne net.Error
	switch {
	case errors.As(err, &lt):
		limit := s.limits().literal
		if s.id == nil {
			s.reply(&Error{Bye: true, Text: "Literal too large before login."})
			return false
		}
		s.fail(&Error{Code: CodeQuotaMaxSize, Text: "Script is too large (max " + itoa(limit) + " bytes)."})
		if s.quit {
			return false
		}
		if lt.size > 4*limit {
			s.reply(&Error{Bye: true, Text: "Literal too large."})
			return false
		}
		// Skip the data and the rest of its command, as Pigeonhole does.
		s.flush()
		if _, err := io.CopyN(io.Discard, s.r, lt.size); err != nil {
			return false
		}
		line, err := readLine(s.r, s.limits().line)
		if err == nil {
			err = skipCommand(s.r, s.limits(), line, nil)
		}
		return err == nil
	case errors.Is(err, errLineTooLong):
		s.reply(&Error{Bye: true, Text: "Command line too long."})
		return false
	case errors.Is(err, errSyntax):
		s.fail(&Error{Text: "Error in MANAGESIEVE command: Invalid arguments."})
		return !s.quit
	case errors.Is(err, errTooManyArgs):
		s.fail(&Error{Text: "Error in MANAGESIEVE command: Too many arguments."})
		return !s.quit
	case errors.Is(err, errShuttingDown):
		s.reply(&Error{Bye: true, Text: "Server shutting down."})
		return false
	case errors.As(err, &ne) && ne.Timeout():
		if s.srv.sessions.Closing() {
			s.reply(&Error{Bye: true, Text: "Server shutting down."})
		} else {
			s.reply(&Error{Bye: true, Text: "Disconnected for inactivity."})
		}
		return false
	default:
		return false // the client went away
	}
}

// dispatch runs one command.
func (s *session) dispatch(c command) {
	switch c.name {
	case "CAPABILITY":
		s.cmdCapability(c)
	case "LOGOUT":
		if s.noArgs(c) {
			s.ok("", "Logout completed.")
			s.quit = true
		}
	case "NOOP":
		s.cmdNoop(c)
	case "STARTTLS":
		s.cmdStartTLS(c)
	case "AUTHENTICATE":
		s.cmdAuthenticate(c)
	case "UNAUTHENTICATE":
		s.cmdUnauthenticate(c)
	case "PUTSCRIPT", "CHECKSCRIPT", "HAVESPACE", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT", "DELETESCRIPT", "RENAMESCRIPT":
		if s.id == nil {
			s.fail(&Error{Text: "Error in MANAGESIEVE command received by server."})
			return
		}
		s.scriptCommand(c)
	default:
		if s.id == nil {
			s.fail(&Error{Text: "Error in MANAGESIEVE command received by server."})
			return
		}
		s.fail(&Error{Text: "Error in MANAGESIEVE command " + c.name + ": Unknown command."})
	}
}

// noArgs checks that c has no arguments, answering when it has.
func (s *session) noArgs(c command) bool {
	if len(c.args) > 0 {
		s.fail(argError(c, "Too many arguments."))
		return false
	}
	return true
}

func argError(c command, text string) *Error {
	return &Error{Text: "Error in MANAGESIEVE command " + c.name + ": " + text}
}

// strings returns c's n arguments, each a string, or answers and
// returns false.
func (s *session) stringArgs(c command, n int) ([]string, bool) {
	if len(c.args) < n {
		s.fail(argError(c, "Missing arguments."))
		return nil, false
	}
	if len(c.args) > n {
		s.fail(argError(c, "Too many arguments."))
		return nil, false
	}
	out := make([]string, n)
	for i, a := range c.args {
		if a.kind != argString {
			s.fail(argError(c, "Invalid arguments."))
			return nil, false
		}
		out[i] = a.s
	}
	return out, true
}

func (s *session) cmdNoop(c command) {
	if len(c.args) == 0 {
		s.ok("", "NOOP Completed")
		return
	}
	if len(c.args) > 1 {
		s.fail(argError(c, "Too many arguments."))
		return
	}
	if c.args[0].kind != argString {
		s.fail(&Error{Text: "Invalid echo tag."})
		return
	}
	s.ok(CodeTag+" "+string(appendString(nil, c.args[0].s)), "Done")
}

// close ends the session.
func (s *session) close() {
	s.flush()
	s.conn.Close()
	s.cancel()
	s.endPrelogin()
	s.srv.sessions.Untrack(s)
	if s.srv.ConnState != nil {
		s.srv.ConnState(s.raw, StateClosed)
	}
}

func (s *session) endPrelogin() {
	if s.prelogin {
		s.prelogin = false
		s.srv.prelogin.Release(s.info.RemoteAddr)
	}
}

// Drain wakes a session waiting for a command so that it says BYE
// (serve.Session).
func (s *session) Drain() {
	if s.idle.Load() {
		s.conn.SetReadDeadline(time.Now())
	}
}

// Abort closes the connection at once (serve.Session).
func (s *session) Abort() { s.conn.Close() }

// flush sends buffered replies; false when the connection is broken.
func (s *session) flush() bool {
	if s.w.Buffered() == 0 {
		return true
	}
	s.conn.SetWriteDeadline(time.Now().Add(orDefault(s.srv.WriteTimeout, DefaultWriteTimeout)))
	return s.w.Flush() == nil
}

func (s *session) write(b []byte) {
	if len(b) > s.w.Available() {
		s.conn.SetWriteDeadline(time.Now().Add(orDefault(s.srv.WriteTimeout, DefaultWriteTimeout)))
	}
	s.w.Write(b)
}

func (s *session) ok(code, text string) {
	s.replyOK = true
	s.write(response("OK", code, text))
}

// hookName is a command's name for CommandHook: one of the commands
// the server knows, or "UNKNOWN".
func hookName(name string) string {
	switch name {
	case "CAPABILITY", "LOGOUT", "NOOP", "STARTTLS", "AUTHENTICATE", "UNAUTHENTICATE",
		"PUTSCRIPT", "CHECKSCRIPT", "HAVESPACE", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT", "DELETESCRIPT", "RENAMESCRIPT":
		return name
	}
	return "UNKNOWN"
}

// reply writes a NO or BYE for err: an *Error as it is, anything else
// as a generic TRYLATER (Go error text never reaches the client). A BYE
// ends the session.
func (s *session) reply(err error) {
	var e *Error
	if !errors.As(err, &e) {
		s.log.Warn("managesieve: internal error", "err", err)
		e = errInternal
	}
	status := "NO"
	if e.Bye {
		status = "BYE"
		s.quit = true
	}
	s.write(response(status, e.Code, e.Text))
}

// fail counts a malformed command (bad arguments, unknown command) and
// answers it, or, when it is one too many in a row, says BYE instead, as
// Pigeonhole does. Commands refused for what they ask (a script that
// does not compile, a missing script, a quota) are answered with reply
// and not counted.
func (s *session) fail(err error) {
	s.bad++
	if s.bad >= s.maxBad() {
		s.reply(errTooManyBad)
		return
	}
	s.reply(err)
}

var errTooManyBad = &Error{Bye: true, Text: "Too many invalid MANAGESIEVE commands."}

// maxBad is the bad-command limit in the session's state.
func (s *session) maxBad() int {
	if s.id == nil {
		return orDefault(s.srv.MaxLoginBadCommands, DefaultMaxLoginBadCommands)
	}
	return orDefault(s.srv.MaxBadCommands, DefaultMaxBadCommands)
}

// handshake completes a TLS handshake within TLSHandshakeTimeout.
func (s *session) handshake(tc *tls.Conn) bool {
	ctx, cancel := context.WithTimeout(s.ctx, orDefault(s.srv.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout))
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Info("managesieve: TLS handshake failed", "err", err)
		return false
	}
	cs := tc.ConnectionState()
	s.info.TLS = &cs
	s.conn = tc
	s.r.Reset(tc)
	s.w.Reset(tc)
	return true
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
