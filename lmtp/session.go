package lmtp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/internal/spool"
)

type session struct {
	srv *Server
	raw net.Conn
	dc  *smtpwire.TimeoutConn
	r   *bufio.Reader
	w   *bufio.Writer
	ctx context.Context

	mu   sync.Mutex
	idle bool

	helo    string
	tls     *tls.ConnectionState
	env     *Envelope    // nil outside a transaction
	bdat    *spool.Spool // BDAT content collected so far
	bsize   int64
	bdatErr error
	quit    bool
	bad     int // invalid commands so far (MaxBadCommands)
	peer    string
	hook    hookState // for Server.CommandHook
}

func newSession(s *Server, c net.Conn) *session {
	dc := &smtpwire.TimeoutConn{Conn: c, WriteTimeout: orDur(s.WriteTimeout, DefaultTimeout)}
	peer := "local"
	if a := c.RemoteAddr(); a != nil && a.String() != "" && a.String() != "@" {
		peer = a.String()
	}
	r, w := sessionBufs.Get().(*sessionBuf).get(dc)
	return &session{srv: s, raw: c, dc: dc, r: r, w: w, peer: peer}
}

// sessionBuf is a session's read and write buffers, recycled through
// sessionBufs when the session ends (8 KiB per connection otherwise).
type sessionBuf struct {
	r *bufio.Reader
	w *bufio.Writer
}

var sessionBufs = sync.Pool{New: func() any {
	return &sessionBuf{r: bufio.NewReader(nil), w: bufio.NewWriter(nil)}
}}

func (b *sessionBuf) get(c io.ReadWriter) (*bufio.Reader, *bufio.Writer) {
	b.r.Reset(c)
	b.w.Reset(c)
	return b.r, b.w
}

// release recycles the session's buffers; it must not read or write
// after.
func (ss *session) release() {
	ss.r.Reset(nil)
	ss.w.Reset(nil)
	sessionBufs.Put(&sessionBuf{r: ss.r, w: ss.w})
	ss.r, ss.w = nil, nil
}

// Drain wakes an idle session so it answers 421 at once; a session in a
// transaction answers it when the transaction ends (serve.Session).
func (ss *session) Drain() { ss.kick() }

// Abort closes the connection at once (serve.Session).
func (ss *session) Abort() { ss.raw.Close() }

func (ss *session) kick() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.idle {
		ss.dc.Kick()
	}
}

func (ss *session) reply(code int, enh, text string) {
	ss.hook.reply(code)
	smtpwire.WriteReply(ss.w, code, enh, text)
}

func (ss *session) serve() {
	s := ss.srv
	defer ss.raw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ss.ctx = ctx
	log := s.logger()
	log.Info("lmtp: connect from "+ss.peer, "service", "lmtp")
	defer func() {
		ss.abortTransaction()
		log.Info("lmtp: disconnect from "+ss.peer, "service", "lmtp")
	}()
	banner := s.Banner
	if banner == "" {
		banner = s.hostname() + " LMTP ready"
	}
	ss.reply(220, "", banner)
	maxLine := s.MaxLineLength
	for !ss.quit {
		if ss.r.Buffered() == 0 {
			if ss.w.Flush() != nil {
				return
			}
		}
		ss.mu.Lock()
		if s.closing() && ss.env == nil {
			ss.mu.Unlock()
			ss.reply(421, "4.3.2", "Service shutting down")
			ss.w.Flush()
			return
		}
		ss.idle = true
		ss.mu.Unlock()
		ss.dc.SetReadTimeout(orDur(s.ReadTimeout, DefaultTimeout))
		line, err := smtpwire.ReadLine(ss.r, maxLine)
		ss.mu.Lock()
		ss.idle = false
		ss.mu.Unlock()
		if err != nil && err != smtpwire.ErrLineTooLong {
			var ne net.Error
			if ss.dc.Kicked() || errors.As(err, &ne) && ne.Timeout() {
				if ss.dc.Kicked() {
					ss.reply(421, "4.3.2", "Service shutting down")
				} else {
					ss.reply(421, "4.4.2", s.hostname()+" Disconnected for inactivity")
				}
				ss.w.Flush()
			}
			return
		}
		var end bool
		if s.CommandHook != nil {
			end = ss.hookedCommand(line, err)
		} else {
			_, end = ss.command(line, err)
		}
		if end {
			ss.w.Flush()
			return
		}
	}
	ss.w.Flush()
}

// command runs one command line, or answers one that was too long
// (err); it returns the verb it dispatched ("" when none) and whether
// the session must end.
func (ss *session) command(line []byte, err error) (verb string, end bool) {
	if err != nil {
		return "", ss.badCommand(500, "5.5.2", "Line too long")
	}
	cmd, err := smtpwire.ParseCommand(line)
	if err != nil {
		return "", ss.badCommand(500, "5.5.2", "Invalid command syntax")
	}
	return cmd.Verb, ss.dispatch(cmd)
}

// badCommand answers an invalid command; past MaxBadCommands of them it
// ends the session instead, with Dovecot's "421 4.7.0 <host> Too many
// invalid commands." (TestDovecotLMTPBadCommands).
func (ss *session) badCommand(code int, enhanced, text string) (end bool) {
	ss.bad++
	max := ss.srv.MaxBadCommands
	if max == 0 {
		max = DefaultMaxBadCommands
	}
	if max >= 0 && ss.bad > max {
		ss.reply(421, "4.7.0", ss.srv.hostname()+" Too many invalid commands.")
		return true
	}
	ss.reply(code, enhanced, text)
	return false
}

// dispatch runs one command and reports whether the session must end.
func (ss *session) dispatch(cmd smtpwire.Command) bool {
	switch cmd.Verb {
	case "LHLO":
		ss.cmdLhlo(cmd.Arg)
	case "HELO", "EHLO":
		return ss.badCommand(500, "5.5.1", "Use LHLO in LMTP")
	case "STARTTLS":
		return ss.cmdStartTLS(cmd.Arg)
	case "MAIL":
		ss.cmdMail(cmd.Arg)
	case "RCPT":
		ss.cmdRcpt(cmd.Arg)
	case "DATA":
		return ss.cmdData(cmd.Arg)
	case "BDAT":
		return ss.cmdBdat(cmd.Arg)
	case "RSET":
		ss.abortTransaction()
		ss.reply(250, "2.0.0", "OK")
	case "NOOP":
		ss.reply(250, "2.0.0", "OK")
	case "VRFY":
		ss.reply(252, "2.3.3", "Try RCPT instead")
	case "QUIT":
		ss.reply(221, "2.0.0", "Bye")
		ss.quit = true
	default:
		return ss.badCommand(500, "5.5.1", "Unknown command") // as Dovecot answers
	}
	return false
}

func (ss *session) cmdLhlo(arg string) {
	if arg == "" || strings.ContainsAny(arg, " \t") {
		ss.reply(501, "5.5.4", "Invalid parameters")
		return
	}
	ss.abortTransaction()
	ss.helo = arg
	lines := []string{ss.srv.hostname(), "8BITMIME", "CHUNKING", "ENHANCEDSTATUSCODES", "PIPELINING", "SMTPUTF8"}
	if ss.srv.MaxMessageBytes > 0 {
		lines = append(lines, "SIZE "+strconv.FormatInt(ss.srv.MaxMessageBytes, 10))
	}
	if ss.tls == nil && ss.srv.serverTLS() != nil {
		lines = append(lines, "STARTTLS")
	}
	ss.reply(250, "", strings.Join(lines, "\n"))
}

func (ss *session) cmdStartTLS(arg string) bool {
	cfg := ss.srv.serverTLS()
	switch {
	case cfg == nil:
		ss.reply(502, "5.5.1", "TLS not available")
		return false
	case ss.tls != nil:
		ss.reply(503, "5.5.1", "TLS already active")
		return false
	case arg != "":
		ss.reply(501, "5.5.4", "Invalid parameters")
		return false
	}
	ss.reply(220, "2.0.0", "Begin TLS negotiation now")
	if ss.w.Flush() != nil {
		return true
	}
	tc := tls.Server(ss.dc.Conn, cfg)
	tc.SetDeadline(time.Now().Add(orDur(ss.srv.TLSHandshakeTimeout, 30*time.Second)))
	if err := tc.HandshakeContext(ss.ctx); err != nil {
		ss.srv.logger().Info("lmtp: TLS handshake failed from "+ss.peer+": "+err.Error(), "service", "lmtp")
		return true
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	ss.tls = &st
	ss.dc.Conn = tc
	ss.r.Reset(ss.dc) // the same buffers, on the TLS connection
	ss.w.Reset(ss.dc)
	ss.helo = ""
	ss.abortTransaction()
	return false
}

func (ss *session) cmdMail(arg string) {
	switch {
	case ss.helo == "":
		ss.reply(503, "5.5.1", "Missing LHLO")
		return
	case ss.env != nil:
		ss.reply(503, "5.5.1", "MAIL already given")
		return
	}
	from, params, err := smtpwire.ParsePathArg(arg, "FROM:", false)
	if err != nil {
		ss.reply(501, "5.5.4", "Invalid FROM: Invalid address")
		return
	}
	env := &Envelope{From: from, Helo: ss.helo, RemoteAddr: ss.raw.RemoteAddr(), TLS: ss.tls}
	for _, p := range params {
		switch p.Key {
		case "BODY":
			env.Body = strings.ToUpper(p.Value)
		case "SMTPUTF8":
			env.UTF8 = true
		case "SIZE":
			if max := ss.srv.MaxMessageBytes; max > 0 {
				if n, err := strconv.ParseInt(p.Value, 10, 64); err == nil && n > max {
					ss.reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
					return
				}
			}
		case "RET", "ENVID", "AUTH", "XTEXT":
		default:
			ss.reply(501, "5.5.4", "Unsupported parameter: "+p.Key)
			return
		}
	}
	if !env.UTF8 && !smtpwire.IsASCII(from) {
		ss.reply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")
		return
	}
	env.ID = newID()
	ss.env = env
	ss.reply(250, "2.1.0", "OK")
}

func (ss *session) cmdRcpt(arg string) {
	if ss.env == nil {
		ss.reply(503, "5.5.1", "MAIL needed first")
		return
	}
	rcpt, _, err := smtpwire.ParsePathArg(arg, "TO:", false)
	if err != nil {
		ss.reply(501, "5.5.4", "Invalid TO: Invalid address")
		return
	}
	if !ss.env.UTF8 && !smtpwire.IsASCII(rcpt) {
		ss.reply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")
		return
	}
	max := ss.srv.MaxRecipients
	if max == 0 {
		max = DefaultMaxRecipients
	}
	if len(ss.env.To) >= max {
		ss.reply(451, "4.5.3", "Too many recipients")
		return
	}
	d := ss.srv.Deliverer
	if d == nil {
		ss.reply(451, "4.3.0", "<"+rcpt+"> No delivery configured")
		return
	}
	if err := d.Rcpt(ss.ctx, ss.env, rcpt); err != nil {
		e := asError(err, rcpt)
		if e.Code == 451 && e.Enhanced == (Enhanced{4, 3, 0}) {
			ss.srv.logger().Error("lmtp: rcpt "+rcpt+": "+err.Error(), "service", "lmtp")
		}
		ss.reply(e.Code, e.Enhanced.String(), e.Message)
		return
	}
	ss.env.To = append(ss.env.To, rcpt)
	ss.reply(250, "2.1.5", "OK")
}

func (ss *session) abortTransaction() {
	ss.env = nil
	if ss.bdat != nil {
		ss.bdat.Close()
		ss.bdat = nil
	}
	ss.bsize = 0
	ss.bdatErr = nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])[:22]
}
