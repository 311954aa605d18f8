package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/store"
)

type connState int

const (
	stateNotAuth connState = iota
	stateAuth
	stateSelected
	stateLogout
)

// conn is one client session: connection state only. Mailbox state lives
// in the store; the sequence-number view lives in selected.
type conn struct {
	srv *Server
	nc  net.Conn // the connection in use (a *tls.Conn after STARTTLS)
	// raw is the accepted connection; Shutdown and Close use it from
	// other goroutines (nc changes under STARTTLS).
	raw net.Conn
	r   *reader
	w   *writer
	log *slog.Logger

	info  authn.ConnInfo
	state connState
	// byeAfter, when set, ends the session with "* BYE byeAfter" after
	// the tagged response (delete_selected.go).
	byeAfter string
	// loginBy is when a client that has not logged in is disconnected
	// (LoginTimeout from connecting).
	loginBy time.Time
	user    string
	// userIPKey is set while the session counts against
	// MaxUserIPConnections.
	userIPKey string
	// prelogin is set while the session counts against
	// LoginMaxConnectionsPerIP.
	prelogin bool
	st       store.Store
	sel      *selected

	// Extensions the client enabled (ENABLE, or implicitly).
	rev2, condstore, qresync bool
	// condstoreEnabled is set once ENABLE CONDSTORE was answered.
	condstoreEnabled bool
	// compressed is set once COMPRESS DEFLATE is on (RFC 4978).
	compressed bool
	// notify is the NOTIFY setting (RFC 5465), nil before NOTIFY.
	notify *notifyState

	// Per-command response: set by handlers, written by dispatch.
	okCode string
	okText string
	curTag string
	hook   hookState   // for Server.CommandHook
	lo     logoutState // for Server.LogoutHook (logout.go)

	// quotaWarned is set once the QuotaWarnPercent alert was sent;
	// noQuota once the store said the user has no quota limits.
	quotaWarned, noQuota bool

	mu       sync.Mutex
	reading  bool // blocked waiting for the next command
	stopping bool
	stopCh   chan struct{}
	// alertUser is the logged-in user as Server.Alert matches it, and
	// alerts the [ALERT] texts waiting to be sent (both under mu);
	// alertCh wakes an IDLE session when one is queued.
	alertUser string
	alerts    []string
	alertCh   chan struct{}
}

// selected is the state of the selected mailbox.
type selected struct {
	mb       store.Mailbox
	name     string
	readOnly bool
	// rights are the session's ACL rights on the mailbox (AllRights
	// without Server.ACL).
	rights Rights
	// uidValidity keys the message cache.
	uidValidity uint32
	view        view
	// saved is the SEARCHRES result ("$"), as UIDs.
	saved store.UIDSet
	// notes are the \Recent messages and announced keywords.
	notes mailboxNotes
	// contexts are the searches kept up to date (RETURN (UPDATE),
	// RFC 5267), in the order they were made.
	contexts []*searchContext
}

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, raw: nc, stopCh: make(chan struct{}), alertCh: make(chan struct{}, 1)}
	c.log = s.logger().With("remote", nc.RemoteAddr().String())
	c.w = newWriter(deadlineWriter{c: nc, timeout: durOr(s.WriteTimeout, DefaultWriteTimeout)})
	c.r = newReader(nc, s.maxLine())
	c.r.literalPlus = true
	c.r.cont = func() error {
		c.w.str("+ OK\r\n")
		return c.w.flush()
	}
	c.info = authn.ConnInfo{Service: "imap", LocalAddr: nc.LocalAddr(), RemoteAddr: nc.RemoteAddr()}
	c.loginBy = time.Now().Add(durOr(s.LoginTimeout, DefaultLoginTimeout))
	return c
}

// Drain asks the session to say BYE and end at its next safe moment
// (serve.Session).
func (c *conn) Drain() { c.shutdown() }

// Abort closes the connection at once (serve.Session).
func (c *conn) Abort() { c.raw.Close() }

// shutdown asks the session to say BYE and end at its next safe moment.
func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return
	}
	c.stopping = true
	close(c.stopCh)
	if c.reading {
		c.raw.SetReadDeadline(time.Now())
	}
}

func (c *conn) serve() {
	defer c.close()
	defer c.reportLogout()
	if tc, ok := c.nc.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), durOr(c.srv.LoginTimeout, DefaultLoginTimeout))
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.log.Debug("imap: TLS handshake failed", "err", err)
			return
		}
		st := tc.ConnectionState()
		c.info.TLS = &st
	}
	greeting := c.srv.Greeting
	if greeting == "" {
		greeting = "yubin ready."
	}
	c.w.str("* OK [CAPABILITY " + strings.Join(c.capabilities(), " ") + "] " + greeting + "\r\n")
	if c.w.flush() != nil {
		return
	}
	for c.state != stateLogout {
		if !c.readCommand() {
			return
		}
	}
}

// refuse turns away a connection over a limit with "* BYE text" (on a
// plain connection: over implicit TLS nothing is said, as a handshake
// would give the client what the limit is there to withhold) and logs
// it.
func (c *conn) refuse(text string) {
	c.log.Info("imap: connection refused", "rip", remoteIP(c.info.RemoteAddr), "reason", text)
	if _, ok := c.nc.(*tls.Conn); !ok {
		c.bye(text)
	}
	c.nc.Close()
}

// endPrelogin stops counting the session against
// LoginMaxConnectionsPerIP: it logged in or ended.
func (c *conn) endPrelogin() {
	if c.prelogin {
		c.prelogin = false
		c.srv.prelogin.Release(c.info.RemoteAddr)
	}
}

// close releases the session's resources.
func (c *conn) close() {
	c.endPrelogin()
	if c.sel != nil {
		c.sel.mb.Close()
		c.sel = nil
	}
	if c.st != nil {
		c.st.Close()
	}
	if c.userIPKey != "" {
		c.srv.releaseUserIP(c.userIPKey)
	}
	c.nc.Close()
}

func (c *conn) timeout() time.Duration {
	if c.state == stateNotAuth {
		return durOr(c.srv.LoginTimeout, DefaultLoginTimeout)
	}
	return durOr(c.srv.AutologoutTimeout, DefaultAutologoutTimeout)
}

func (c *conn) bye(text string) {
	c.noteBye(text)
	c.w.str("* BYE " + text + "\r\n")
	c.w.flush()
}

// waitCommand blocks until the first byte of a command arrives; it
// returns false when the session must end.
func (c *conn) waitCommand() bool {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		c.bye("Server shutting down.")
		return false
	}
	c.reading = true
	if c.state == stateNotAuth {
		// Commands before login do not move the deadline: a client
		// gets LoginTimeout from connecting to log in, as in Dovecot.
		c.nc.SetReadDeadline(c.loginBy)
	} else {
		c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	}
	c.mu.Unlock()
	_, err := c.r.peek()
	c.mu.Lock()
	c.reading = false
	stopping := c.stopping
	c.mu.Unlock()
	if stopping {
		c.bye("Server shutting down.")
		return false
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.bye("Disconnected for inactivity.")
		}
		return false
	}
	return true
}

// readCommand reads and runs one command; false ends the session.
func (c *conn) readCommand() bool {
	if !c.waitCommand() {
		return false
	}
	c.hook = hookState{}
	if c.srv.CommandHook != nil {
		defer c.runHook(time.Now())
	}
	c.r.startLine()
	c.okCode, c.okText = "", ""
	tag, err := c.r.tag()
	c.curTag = tag
	if err == nil {
		err = c.r.sp()
	}
	var name string
	if err == nil {
		name, err = c.r.atom()
		name = strings.ToUpper(name)
		c.hook.verb = name
	}
	if err != nil {
		if !c.fatal(err) {
			c.r.skipLine()
			c.w.str("* BAD Error in IMAP command received by server.\r\n")
			return c.w.flush() == nil
		}
		return c.endOnError(err)
	}
	uid := false
	if name == "UID" {
		uid = true
		if err = c.r.sp(); err == nil {
			name, err = c.r.atom()
			name = strings.ToUpper(name)
			c.hook.verb, c.hook.uid = name, err == nil
		}
		if err != nil {
			return c.finish(tag, "UID", nil, err)
		}
	}
	cmd, ok := commands[name]
	if !ok || (uid && !cmd.uid) {
		return c.finish(tag, name, nil, badf("Unknown command."))
	}
	if !cmd.allowedIn(c.state) {
		return c.finish(tag, name, nil, c.wrongState(cmd))
	}
	if c.state != stateNotAuth {
		defer c.noteCommandDone(name, uid)
	}
	err = cmd.fn(c, tag, uid)
	return c.finish(tag, name, &cmd, err)
}

func (c *conn) wrongState(cmd command) error {
	switch {
	case c.state == stateNotAuth:
		return badf("Command not allowed before authentication.")
	case cmd.states&(1<<stateNotAuth) != 0:
		return badf("Command not allowed after authentication.")
	default:
		return badf("No mailbox selected.")
	}
}

// fatal reports whether err leaves the connection unusable: I/O errors,
// an overlong line, LOGOUT.
func (c *conn) fatal(err error) bool {
	for _, e := range []error{errLineTooLong, errFatal, errLogout, io.EOF, io.ErrUnexpectedEOF, net.ErrClosed} {
		if errors.Is(err, e) {
			return true
		}
	}
	// A read or write of the connection failed. Checking the error's
	// type instead would also catch a store's error: syscall.Errno is a
	// net.Error, so an EACCES from the mailbox ended the session
	// silently instead of answering [SERVERBUG].
	return c.r.src.Err != nil || c.w.err != nil
}

func (c *conn) endOnError(err error) bool {
	switch {
	case errors.Is(err, errLineTooLong):
		c.bye("Too long argument.")
	case errors.Is(err, errFatal):
		c.bye("Literal too large.")
	case errors.Is(err, errLogout):
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.bye("Disconnected for inactivity.")
		} else if err != io.EOF && !errors.Is(err, net.ErrClosed) {
			c.log.Debug("imap: connection error", "err", err)
		}
	}
	return false
}

// finish writes the tagged response of a command (after any pending
// mailbox updates the command allows) and reports whether to go on.
func (c *conn) finish(tag, name string, cmd *command, err error) bool {
	if err == errAlreadyAnswered {
		return true
	}
	if err != nil && c.fatal(err) {
		return c.endOnError(err)
	}
	var se *syntaxError
	if errors.As(err, &se) {
		if !se.skipped && !c.r.lineDone() {
			if e := c.r.skipLine(); e != nil {
				return c.endOnError(e)
			}
		}
		kind := "BAD"
		if se.no {
			kind = "NO"
		}
		c.tagged(tag, kind, se.code, se.msg)
		return c.w.flush() == nil
	}
	if err != nil && !c.r.lineDone() {
		if e := c.r.skipLine(); e != nil {
			return c.endOnError(e)
		}
	}
	if cmd != nil && cmd.updates && c.sel != nil && c.state == stateSelected {
		if !c.sendUpdates() {
			return false
		}
	}
	if c.sel != nil && len(c.sel.contexts) > 0 && ownChangeCommand(name) {
		c.updateSearchContexts()
	}
	if cmd != nil && cmd.updates && c.notify != nil && (c.state == stateAuth || c.state == stateSelected) && !ownNotifyCommand(name) {
		c.lookNotify(true)
	}
	if err != nil {
		ie := c.wireError(name, err)
		if ie.Kind == KindBYE {
			c.bye(ie.Text)
			return false
		}
		c.tagged(tag, string(ie.Kind), ie.Code, ie.Text)
		return c.afterTagged()
	}
	text := c.okText
	if text == "" {
		text = commandTitle(name) + " completed."
	}
	c.tagged(tag, "OK", c.okCode, text)
	return c.afterTagged()
}

func commandTitle(name string) string {
	if name == "" {
		return "Command"
	}
	return name[:1] + strings.ToLower(name[1:])
}

func (c *conn) tagged(tag, kind, code, text string) {
	c.hook.tagged = kind
	c.writeAlerts()
	c.w.str(tag)
	c.w.byte(' ')
	c.w.str(kind)
	c.w.byte(' ')
	if code != "" {
		c.w.str("[" + code + "] ")
	}
	c.w.str(text)
	c.w.crlf()
}

// untaggedOK writes "* OK [code] text".
func (c *conn) untaggedOK(code, text string) {
	c.w.str("* OK ")
	if code != "" {
		c.w.str("[" + code + "] ")
	}
	c.w.str(text)
	c.w.crlf()
}

// ctx returns the context of a command: cancelled when the server shuts
// down hard.
func (c *conn) ctx() context.Context { return context.Background() }
