package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/restrict"
)

// session is one client connection.
type session struct {
	srv  *Server
	conn net.Conn // the current connection (a *tls.Conn after STARTTLS)
	dc   *smtpwire.TimeoutConn
	r    *bufio.Reader
	w    *bufio.Writer
	info ConnInfo
	be   Session
	ctx  context.Context

	mu   sync.Mutex
	idle bool

	// transaction state
	from      *string
	mailOpts  MailOptions
	rcpts     []Recipient
	rcptTried bool // a RCPT command was given in this transaction
	queued    bool // the transaction's "client=" line was logged: it has a queue ID in the log
	bdat      *bdatState

	queueID     string
	discard     bool               // a Policy said DISCARD for this transaction
	delayed     *restrict.Decision // MAIL-stage refusal sent at RCPT (smtpd_delay_reject)
	delayedConn *restrict.Decision
	delayedHelo *restrict.Decision
	connAct     stageActions // HOLD, REDIRECT, FILTER, PREPEND at connect
	heloAct     stageActions // ... at the last HELO
	txAct       stageActions // ... in this transaction
	env         *Envelope    // the message being received

	lim       sessionLimits // the tarpit limits, resolved at connect
	errors    int           // smtpd_hard_error_limit's count
	junk      int           // junk commands (smtpd_junk_command_limit)
	overshoot int           // RCPTs over MaxRecipients in this transaction
	illPipe   bool          // the client pipelined where it must not (reject_unauth_pipelining)
	stats     commandStats
	lastVerb  string
	quit      bool
	clientStr string // "unknown[127.0.0.1]"
	addr      netip.Addr
}

// Drain wakes an idle session so it answers 421 at once; a session in a
// transaction answers it when the transaction ends (serve.Session).
func (ss *session) Drain() { ss.kick() }

// Abort closes the connection at once (serve.Session).
func (ss *session) Abort() { ss.conn.Close() }

// kick wakes an idle session so it answers 421 at once (Shutdown).
func (ss *session) kick() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.idle {
		ss.dc.Kick()
	}
}

// readBufSize is the size of a session's read buffer: a 100 KiB message
// arrives in seven reads instead of the 25 of bufio's default 4 KiB.
const readBufSize = 16 << 10

// connBuf is a session's read and write buffers, recycled through
// connBufs when the session ends.
type connBuf struct {
	r *bufio.Reader
	w *bufio.Writer
}

var connBufs = sync.Pool{New: func() any {
	return &connBuf{r: bufio.NewReaderSize(nil, readBufSize), w: bufio.NewWriter(nil)}
}}

// getBufs returns pooled buffers reading and writing c.
func getBufs(c io.ReadWriter) *connBuf {
	b := connBufs.Get().(*connBuf)
	b.r.Reset(c)
	b.w.Reset(c)
	return b
}

// put returns the buffers to the pool once their session is over.
func (b *connBuf) put() {
	b.r.Reset(nil)
	b.w.Reset(nil)
	connBufs.Put(b)
}

func (s *Server) serveConn(c net.Conn) {
	ss := &session{srv: s}
	ss.dc = &smtpwire.TimeoutConn{Conn: c, WriteTimeout: orDur(s.WriteTimeout, DefaultTimeout)}
	ss.dc.SetReadTimeout(orDur(s.ReadTimeout, DefaultTimeout))
	ss.conn = c
	ip := hostOf(c.RemoteAddr())
	ss.clientStr = "unknown[" + ip + "]"
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		ss.addr = ap.Addr().Unmap()
	}
	ss.info = ConnInfo{LocalAddr: c.LocalAddr(), RemoteAddr: c.RemoteAddr(), ClientName: "unknown", Service: s.service()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ss.ctx = ctx
	ss.lim = s.sessionLimits()
	tracked := s.sessions.Track(ss)
	if tracked {
		defer s.sessions.Untrack(ss)
	}
	ok := s.countClient(ip)
	defer s.uncountClient(ip)
	defer c.Close()

	s.connState(c, StateNew)
	defer s.connState(c, StateClosed)
	log := s.logger()
	log.Info("connect from "+ss.clientStr, "service", ss.info.Service, "client", ip)
	defer func() {
		log.Info("disconnect from "+ss.clientStr+" "+ss.stats.String(), "service", ss.info.Service, "client", ip)
	}()

	if tc, isTLS := c.(*tls.Conn); isTLS {
		// Implicit TLS (submissions): handshake before the greeting.
		tc.SetDeadline(time.Now().Add(orDur(s.TLSHandshakeTimeout, 30*time.Second)))
		if err := tc.HandshakeContext(ctx); err != nil {
			log.Info("SSL_accept error from "+ss.clientStr+": "+err.Error(), "service", ss.info.Service)
			return
		}
		tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		ss.info.TLS = &st
		ss.dc.Conn = tc
	}
	bufs := getBufs(ss.dc)
	defer bufs.put()
	ss.r, ss.w = bufs.r, bufs.w

	if !ok {
		ss.reply(421, "4.7.0", s.hostname()+" Error: too many connections from "+ip)
		ss.w.Flush()
		log.Warn("warning: Connection concurrency limit exceeded: "+ss.clientStr, "service", ss.info.Service)
		return
	}
	if !tracked || s.closing() {
		ss.reply(421, "4.3.2", "Service shutting down")
		ss.w.Flush()
		return
	}
	if s.Limiter != nil {
		d, release := s.Limiter.Connect(ss.addr)
		defer release()
		if d.Code != 0 {
			log.Warn("warning: Connection rate or count limit exceeded: "+ss.clientStr+" for service "+ss.info.Service, "service", ss.info.Service)
			ss.replyDecision(d)
			ss.w.Flush()
			return
		}
		if ss.info.TLS != nil && ss.limited(s.Limiter.NewTLSSession, "New TLS session") {
			ss.w.Flush()
			return
		}
	}
	if d, refused := ss.checkPolicy(StageConnect, ""); refused {
		if !s.delayReject() {
			ss.logReject("CONNECT", d, "")
			ss.replyDecision(d)
			ss.w.Flush()
			return
		}
		ss.delayedConn = &d
	}
	be := s.Backend
	if be == nil {
		be = refuseBackend{}
	}
	sess, err := be.NewSession(ctx, &ss.info)
	if err != nil {
		e := asError(err)
		if e == errLocal {
			e = &Error{Code: 421, Enhanced: Enhanced{4, 3, 0}, Message: s.hostname() + " Error: local error in processing"}
		}
		ss.replyErr(e)
		ss.w.Flush()
		return
	}
	ss.be = sess
	defer func() {
		if cl, ok := sess.(io.Closer); ok {
			cl.Close()
		}
	}()
	if ss.pregreet() {
		return
	}
	banner := s.Banner
	if banner == "" {
		banner = s.hostname() + " ESMTP"
	}
	ss.reply(220, "", banner)
	ss.loop()
}

// pregreet looks, without waiting, for bytes the client sent before the
// greeting, which it must not (RFC 5321 3.1, RFC 2920 3.1); it looks
// before the 220 goes out, so a client that answers the greeting quickly
// is never mistaken for one. Such a session is logged as Postfix's smtpd
// logs it ("improper command pipelining after CONNECT from ...") and
// reported to the Policy (reject_unauth_pipelining); with
// ForbidUnauthPipelining it is told "554 5.5.0 Error: SMTP protocol
// synchronization" instead of the greeting and ended (the return value).
// Only plaintext sockets are looked at (smtpwire.Pending): on implicit
// TLS the handshake itself shows the client waited for the server.
func (ss *session) pregreet() bool {
	if ss.info.TLS != nil {
		return false
	}
	next := smtpwire.Pending(ss.dc.Conn, pipeLogBytes)
	if len(next) == 0 {
		return false
	}
	ss.illPipe = true
	s := ss.srv
	s.logger().Info("improper command pipelining after CONNECT from "+ss.clientStr+": "+logEscape(next), "service", ss.info.Service)
	if !ss.lim.forbidPipelining {
		return false
	}
	ss.reply(554, "5.5.0", "Error: SMTP protocol synchronization")
	ss.w.Flush()
	return true
}

// refuseBackend is used when Server.Backend is nil.
type refuseBackend struct{}

func (refuseBackend) NewSession(context.Context, *ConnInfo) (Session, error) {
	return refuseBackend{}, nil
}
func (refuseBackend) Data(context.Context, *Envelope, io.Reader) error {
	return &Error{Code: 451, Enhanced: Enhanced{4, 3, 0}, Message: "Error: no mail handler configured"}
}

func hostOf(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// loop reads and dispatches commands until QUIT or a fatal condition.
func (ss *session) loop() {
	s := ss.srv
	for !ss.quit {
		// Postfix's smtpd checks the hard error limit before it reads
		// each command, so the 421 follows the reply that made the
		// last error at once.
		if ss.errors >= ss.lim.hard {
			ss.tooManyErrors()
			return
		}
		if ss.r.Buffered() == 0 {
			if err := ss.w.Flush(); err != nil {
				return
			}
		}
		ss.mu.Lock()
		if s.closing() && ss.from == nil && ss.bdat == nil {
			ss.mu.Unlock()
			ss.reply(421, "4.3.2", "Service shutting down")
			ss.w.Flush()
			return
		}
		ss.idle = true
		ss.mu.Unlock()
		ss.dc.SetReadTimeout(orDur(s.ReadTimeout, DefaultTimeout))
		line, err := smtpwire.ReadLine(ss.r, orInt(s.MaxLineLength, smtpwire.DefaultMaxLineLength))
		ss.mu.Lock()
		ss.idle = false
		ss.mu.Unlock()
		if err != nil {
			if err == smtpwire.ErrLineTooLong {
				ss.counted("unknown", false, time.Now())
				ss.reply(500, "5.5.2", "Error: line too long")
				ss.errors++
				continue
			}
			ss.lost(err)
			return
		}
		cmd, err := smtpwire.ParseCommand(line)
		if err == nil && (cmd.Verb == "GET" || cmd.Verb == "POST" || cmd.Verb == "CONNECT") || err != nil && nonSMTP(line) {
			ss.nonSMTP(line)
			return
		}
		if err != nil {
			ss.counted("unknown", false, time.Now())
			ss.reply(500, "5.5.2", "Error: bad syntax")
			ss.errors++
			continue
		}
		if lastInGroup(cmd.Verb) && ss.r.Buffered() > 0 && !ss.illPipe {
			// RFC 2920 3.1: these commands end a pipelined group; the
			// client must wait for their reply.
			ss.illPipe = true
			next, _ := ss.r.Peek(min(ss.r.Buffered(), pipeLogBytes))
			s.logger().Info("improper command pipelining after "+cmd.Verb+" from "+ss.clientStr+": "+logEscape(next), "service", ss.info.Service)
			if ss.lim.forbidPipelining {
				ss.counted(strings.ToLower(cmd.Verb), false, time.Now())
				ss.reply(554, "5.5.0", "Error: SMTP protocol synchronization")
				ss.w.Flush()
				return
			}
		}
		ss.lastVerb = cmd.Verb
		ok, fatal := ss.dispatch(cmd)
		ss.countCommand(cmd.Verb, ok)
		if fatal {
			ss.w.Flush()
			return
		}
	}
	ss.w.Flush()
}

// lastInGroup reports the commands after which a client must wait for
// the reply before sending more (RFC 2920 3.1, and as Postfix's smtpd
// flags them).
func lastInGroup(verb string) bool {
	switch verb {
	case "EHLO", "HELO", "STARTTLS", "AUTH", "DATA", "NOOP", "VRFY":
		return true
	}
	return false
}

// pipeLogBytes is how much of what a client sent ahead of time the
// "improper command pipelining" line shows.
const pipeLogBytes = 100

// logEscape writes b as Postfix's escape() does for a log line: printable
// ASCII as is (a backslash doubled), \r, \n, \t and the other C escapes
// by name, every other byte as a three-digit octal escape.
func logEscape(b []byte) string {
	var out strings.Builder
	for _, c := range b {
		switch {
		case c == '\\':
			out.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			out.WriteByte(c)
		case c == '\a':
			out.WriteString(`\a`)
		case c == '\b':
			out.WriteString(`\b`)
		case c == '\f':
			out.WriteString(`\f`)
		case c == '\n':
			out.WriteString(`\n`)
		case c == '\r':
			out.WriteString(`\r`)
		case c == '\t':
			out.WriteString(`\t`)
		case c == '\v':
			out.WriteString(`\v`)
		default:
			out.WriteByte('\\')
			out.WriteByte('0' + c>>6)
			out.WriteByte('0' + c>>3&7)
			out.WriteByte('0' + c&7)
		}
	}
	return out.String()
}

func (ss *session) lastVerbOr() string {
	if ss.lastVerb == "" {
		return "CONNECT"
	}
	return ss.lastVerb
}

// lost logs a vanished or timed-out client the way Postfix does, and
// tells a client that is still there why it is being dropped.
func (ss *session) lost(err error) {
	log := ss.srv.logger()
	var ne net.Error
	switch {
	case ss.dc.Kicked() || ss.srv.closing() && errors.As(err, &ne) && ne.Timeout():
		ss.reply(421, "4.3.2", "Service shutting down")
		ss.w.Flush()
	case errors.As(err, &ne) && ne.Timeout():
		log.Info("timeout after "+ss.lastVerbOr()+" from "+ss.clientStr, "service", ss.info.Service)
		ss.reply(421, "4.4.2", ss.srv.hostname()+" Error: timeout exceeded")
		ss.w.Flush()
	default:
		log.Info("lost connection after "+ss.lastVerbOr()+" from "+ss.clientStr, "service", ss.info.Service)
	}
}

// reply writes one reply (buffered; the loop flushes when the client
// has nothing more pipelined). Past the soft error limit it waits
// ErrorSleep first and flushes, as Postfix's smtpd_chat_reply does.
func (ss *session) reply(code int, enhanced, text string) {
	if !ss.srv.ext().Has(ExtEnhancedStatusCodes) {
		enhanced = ""
	}
	slept := ss.tarpit()
	smtpwire.WriteReply(ss.w, code, enhanced, text)
	if slept {
		ss.w.Flush()
	}
}

func (ss *session) replyErr(e *Error) {
	ss.reply(e.Code, e.Enhanced.String(), e.Message)
}

// resetTransaction ends the current mail transaction.
func (ss *session) resetTransaction() {
	ss.from = nil
	ss.delayed = nil
	ss.discard = false
	ss.txAct = stageActions{}
	ss.env = nil
	ss.queueID = ""
	ss.mailOpts = MailOptions{}
	ss.rcpts = nil
	ss.rcptTried = false
	ss.queued = false
	ss.overshoot = 0
	if ss.bdat != nil {
		ss.bdat.abort()
		ss.bdat = nil
	}
	if r, ok := ss.be.(Resetter); ok {
		r.Reset()
	}
}
