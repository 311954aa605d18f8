package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/smtp"
	"github.com/yubinmail/yubin/tlspolicy"
)

// smtpAttempt is one Deliver call's state.
type smtpAttempt struct {
	t     *SMTPTransport
	d     *Delivery
	nh    smtpNexthop
	port  smtpPort
	key   string
	tm    *[numPhases]time.Duration
	level TLSLevel
	log   *slog.Logger
	start time.Time
	dane  tlspolicy.Level   // the DANE level asked for, "" for none
	dom   *tlspolicy.Domain // the next-hop domain's TLS policy, nil for none
	host  *tlspolicy.Host   // the TLS policy of the host being opened
}

// smtpPort is a resolved TCP port.
type smtpPort uint16

func (p smtpPort) String() string { return strconv.Itoa(int(p)) }

// portFor resolves the nexthop's port, Port or "smtp".
func (t *SMTPTransport) portFor(ctx context.Context, nh smtpNexthop) (smtpPort, error) {
	p := nh.port
	if p == "" {
		p = t.Port
	}
	if p == "" {
		p = DefaultSMTPPort
	}
	if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 {
		return smtpPort(n), nil
	}
	n, err := net.DefaultResolver.LookupPort(ctx, "tcp", p)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("unknown service %q", p)
	}
	return smtpPort(n), nil
}

// smtpSession is an SMTP connection ready for a mail transaction.
type smtpSession struct {
	c       *smtp.Client
	pc      *phaseConn
	host    string // the server's host name (MX host, [host], address)
	relay   string // "host[addr]:port"
	key     string // the connection cache key
	created time.Time
	conn    time.Duration // time spent setting it up (DNS, TCP, greeting, TLS)
	stop    func() bool   // detaches the current context
	tls     bool
	broken  bool // the conversation broke: close, do not cache
}

// watch makes ctx's cancellation abort the session's I/O.
func (s *smtpSession) watch(ctx context.Context) {
	if s.stop != nil {
		s.stop()
	}
	s.stop = context.AfterFunc(ctx, s.pc.abort)
}

func (s *smtpSession) detach() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

func (s *smtpSession) close() {
	s.detach()
	s.c.Close()
}

// quit says QUIT and closes without waiting for the reply, as Postfix
// does with smtp_skip_quit_response = yes (the default); the write is
// bounded by smtp_quit_timeout.
func (s *smtpSession) quit() {
	s.detach()
	s.pc.Write([]byte("QUIT\r\n"))
	s.c.Close()
}

// reuse readies a cached session for another transaction with RSET.
func (s *smtpSession) reuse(ctx context.Context) bool {
	s.watch(ctx)
	s.pc.cancelled.Store(false)
	return s.c.Reset(ctx) == nil
}

func smtpRelayName(host string, addr netip.Addr, p smtpPort) string {
	return host + "[" + addr.String() + "]:" + p.String()
}

// smtpConnectReason turns a dial error into Postfix's words.
func smtpConnectReason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "Connection timed out"
	}
	return "Connection failed"
}

// convFail is the Result of a conversation that broke: a timeout, a lost
// connection or a reply that is not SMTP.
func (s *smtpSession) convFail(err error) *Result {
	r := &Result{Status: Deferred, DSN: "4.4.2", Relay: s.relay, RemoteMTA: s.host}
	while := phaseWhile[s.pc.cur]
	switch {
	case s.pc.cancelled.Load():
		r.Text = fmt.Sprintf("conversation with %s interrupted while %s", s.relay, while)
	case errors.Is(err, os.ErrDeadlineExceeded):
		r.Text = fmt.Sprintf("conversation with %s timed out while %s", s.relay, while)
	case errors.Is(err, smtpwire.ErrSyntax) || errors.Is(err, smtpwire.ErrBadReply) || errors.Is(err, smtpwire.ErrReplyTooLong) || errors.Is(err, bufio.ErrTooLong) || errors.Is(err, smtpwire.ErrLineTooLong):
		r.Text = fmt.Sprintf("host %s sent a malformed reply while %s", s.relay, while)
		r.DSN = "4.5.0"
	default:
		r.Text = fmt.Sprintf("lost connection with %s while %s", s.relay, while)
	}
	return r
}

// replyResult is the Result of an SMTP reply: 2xx Sent, 4xx Deferred,
// 5xx Bounced, with Postfix's text "host ... said: ... (in reply to ...
// command)".
func (s *smtpSession) replyResult(e *smtp.Error, inReplyTo string) *Result {
	r := &Result{Code: e.Code, Remote: true, Relay: s.relay, RemoteMTA: s.host}
	dsn := e.Enhanced.String()
	switch {
	case e.Code >= 500:
		r.Status = Bounced
		if dsn == "" || dsn[0] != '5' {
			dsn = "5.0.0"
		}
	default:
		r.Status = Deferred
		if dsn == "" || dsn[0] != '4' {
			dsn = "4.0.0"
		}
	}
	r.DSN = dsn
	r.Text = fmt.Sprintf("host %s said: %s (in reply to %s command)", s.relay, smtpReplyText(e), inReplyTo)
	return r
}

// smtpReplyText formats an *smtp.Error as the server sent it, on one line.
func smtpReplyText(e *smtp.Error) string {
	t := strconv.Itoa(e.Code)
	if d := e.Enhanced.String(); d != "" {
		t += " " + d
	}
	if e.Message != "" {
		t += " " + strings.ReplaceAll(e.Message, "\n", " ")
	}
	return smtpSanitize(t)
}

// open connects to tg and readies a session: greeting, EHLO, STARTTLS
// as the level says, AUTH when credentials are configured. connected
// reports whether TCP got through (it counts as an MX session). A
// handshake failure at level may is retried once in plaintext.
func (a *smtpAttempt) open(ctx context.Context, tg mxTarget, level TLSLevel) (s *smtpSession, fail *Result, connected bool) {
	s, fail, connected, retryPlain := a.open1(ctx, tg, level)
	if retryPlain {
		a.log.Info("TLS handshake failed, retrying in plaintext", "queue_id", a.d.Envelope.ID, "relay", smtpRelayName(tg.host, tg.addr, a.port), "reason", fail.Text)
		s, fail, _, _ = a.open1(ctx, tg, TLSNone)
	}
	return s, fail, connected
}

func (a *smtpAttempt) open1(ctx context.Context, tg mxTarget, level TLSLevel) (s *smtpSession, fail *Result, connected, retryPlain bool) {
	t := a.t
	relay := smtpRelayName(tg.host, tg.addr, a.port)
	dialer := net.Dialer{Timeout: smtpOrDur(t.ConnectTimeout, DefaultConnectTimeout)}
	bind := t.BindAddress
	if tg.addr.Is6() {
		bind = t.BindAddress6
	}
	if bind != "" {
		ip, err := netip.ParseAddr(bind)
		if err != nil {
			return nil, mxFail(Deferred, "4.3.5", "bad smtp_bind_address %q", bind), false, false
		}
		dialer.LocalAddr = &net.TCPAddr{IP: ip.AsSlice()}
	}
	raw, err := dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(tg.addr, uint16(a.port)).String())
	if err != nil {
		r := mxFail(Deferred, "4.4.1", "connect to %s: %s", relay, smtpConnectReason(err))
		return nil, r, false, false
	}
	s = &smtpSession{host: tg.host, relay: relay, key: a.key, created: time.Now()}
	var conn net.Conn = raw
	if t.WrapperMode && level != TLSNone {
		tc, r := a.handshake(ctx, raw, s, tg, level)
		if r != nil {
			raw.Close()
			return nil, r, true, false
		}
		conn, s.tls = tc, true
	}
	s.pc = newPhaseConn(conn, a.tm)
	s.stop = context.AfterFunc(ctx, s.pc.abort)
	fail = func() *Result {
		c, err := smtp.NewClient(ctx, s.pc)
		if err != nil {
			var e *smtp.Error
			if errors.As(err, &e) {
				r := s.replyResult(e, "initial greeting")
				r.Text = fmt.Sprintf("host %s refused to talk to me: %s", relay, smtpReplyText(e))
				return r
			}
			return s.convFail(err)
		}
		s.c = c
		if r := s.hello(ctx, a.t.hostname()); r != nil {
			return r
		}
		if !s.tls && level != TLSNone {
			var r *Result
			if r, retryPlain = a.startTLS(ctx, s, raw, tg, level); r != nil {
				return r
			}
		}
		return a.auth(ctx, s)
	}()
	if fail != nil {
		s.detach()
		if s.c != nil {
			if fail.Code != 0 {
				s.quit() // the server is still talking
			} else {
				s.c.Close()
			}
		} else {
			raw.Close()
		}
		return nil, fail, true, retryPlain
	}
	s.conn = time.Since(a.start)
	return s, nil, true, false
}

// hello sends EHLO (HELO when refused).
func (s *smtpSession) hello(ctx context.Context, name string) *Result {
	if err := s.c.Hello(ctx, name); err != nil {
		var e *smtp.Error
		if errors.As(err, &e) {
			return s.replyResult(e, s.pc.verb)
		}
		return s.convFail(err)
	}
	return nil
}

// tlsConfig is the client TLS config for a server: verification is done
// by checkPeer after the handshake, to tell Untrusted, Trusted and
// Verified apart as Postfix logs them.
func (a *smtpAttempt) tlsConfig(tg mxTarget) *tls.Config {
	var cfg *tls.Config
	if a.t.TLSConfig != nil {
		cfg = a.t.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = nil
	if !tg.addr.IsValid() || tg.host != tg.addr.String() {
		cfg.ServerName = tg.host
	}
	return cfg
}

// handshake runs the TLS handshake on raw within smtp_starttls_timeout
// and checks the certificate as the level requires.
func (a *smtpAttempt) handshake(ctx context.Context, raw net.Conn, s *smtpSession, tg mxTarget, level TLSLevel) (*tls.Conn, *Result) {
	hctx, cancel := context.WithTimeout(ctx, a.tm[phStartTLS])
	defer cancel()
	tc := tls.Client(raw, a.tlsConfig(tg))
	if err := tc.HandshakeContext(hctx); err != nil {
		r := mxFail(Deferred, "4.7.5", "Cannot start TLS: handshake failure")
		r.Relay, r.RemoteMTA = s.relay, s.host
		a.log.Warn("TLS handshake failed", "queue_id", a.d.Envelope.ID, "relay", s.relay, "error", err.Error())
		a.policyNoTLS(s, tg, true, "TLS handshake failure")
		return nil, r
	}
	raw.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	if tc2, r, done := a.policyHandshake(tc, cs, s, tg); done {
		return tc2, r
	}
	pt := checkTLSPeer(cs, a.t.RootCAs, level, tg.host, a.nh.host)
	if (level == TLSVerify || level == TLSSecure) && !(pt.trusted && pt.matched) {
		text := "Server certificate not verified"
		if !pt.trusted {
			text = "Server certificate not trusted"
		}
		r := mxFail(Deferred, "4.7.5", "%s", text)
		r.Relay, r.RemoteMTA = s.relay, s.host
		a.log.Warn(fmt.Sprintf("%s: %s", s.relay, text), "queue_id", a.d.Envelope.ID)
		tc.Close()
		return nil, r
	}
	a.log.Info(tlsSummary(cs, level, pt, s.relay), "queue_id", a.d.Envelope.ID)
	return tc, nil
}

// startTLS runs STARTTLS (RFC 3207) as the level says. It returns
// retryPlain when level may failed in the handshake: Postfix then tries
// the same server again without TLS.
func (a *smtpAttempt) startTLS(ctx context.Context, s *smtpSession, raw net.Conn, tg mxTarget, level TLSLevel) (fail *Result, retryPlain bool) {
	if !s.c.Extensions().Has(smtp.ExtStartTLS) {
		a.policyNoTLS(s, tg, false, "STARTTLS not offered")
		if level.mandatory() {
			r := mxFail(Deferred, "4.7.4", "TLS is required, but was not offered by host %s", s.relay)
			r.Relay, r.RemoteMTA = s.relay, s.host
			return r, false
		}
		return nil, false
	}
	if _, err := s.pc.Write([]byte("STARTTLS\r\n")); err != nil {
		return s.convFail(err), false
	}
	rep, err := smtpwire.ReadReply(bufio.NewReaderSize(s.pc, 4096), 4096)
	if err != nil {
		return s.convFail(err), false
	}
	if rep.Code != 220 {
		a.policyNoTLS(s, tg, false, "STARTTLS refused")
		if !level.mandatory() {
			return nil, false // continue in plaintext, as RFC 3207 allows
		}
		e := &smtp.Error{Code: rep.Code, Enhanced: smtp.ParseEnhanced(rep.Enhanced), Message: rep.Text()}
		r := s.replyResult(e, "STARTTLS")
		r.Status, r.DSN = Deferred, "4.7.4"
		r.Text = fmt.Sprintf("TLS is required, but host %s refused to start TLS: %s", s.relay, smtpReplyText(e))
		return r, false
	}
	s.detach()
	tc, r := a.handshake(ctx, raw, s, tg, level)
	if r != nil {
		return r, !level.mandatory()
	}
	greeting := "220 " + s.host + " ESMTP\r\n"
	s.pc = newPhaseConn(tc, a.tm)
	s.pc.prefix = []byte(greeting)
	s.stop = context.AfterFunc(ctx, s.pc.abort)
	s.tls = true
	c, err := smtp.NewClient(ctx, s.pc)
	if err != nil {
		return s.convFail(err), false
	}
	s.c = c
	return s.hello(ctx, a.t.hostname()), false
}

// auth authenticates to the server (RFC 4954) when smtp_sasl_password_maps
// has credentials for it and it offers AUTH.
func (a *smtpAttempt) auth(ctx context.Context, s *smtpSession) *Result {
	t := a.t
	if t.SASL == nil || !s.c.Extensions().Has(smtp.ExtAuth) {
		return nil
	}
	host := s.host
	if !a.nh.mx && !a.nh.ip.IsValid() {
		host = a.nh.host
	}
	user, pass, found, err := t.lookupSASL(ctx, a.d.Envelope.From, host, a.nh.dest)
	if err != nil {
		a.log.Warn("smtp_sasl_password_maps lookup failed", "queue_id", a.d.Envelope.ID, "error", err.Error())
		r := mxFail(Deferred, "4.3.0", "Temporary failure: SASL password lookup failed")
		r.Relay, r.RemoteMTA = s.relay, s.host
		return r
	}
	if !found {
		return nil
	}
	opts := parseSASLOptions(smtpOrStr(t.SASLSecurityOptions, DefaultSASLSecurityOptions))
	if s.tls {
		opts = parseSASLOptions(smtpOrStr(t.SASLTLSSecurityOptions, DefaultSASLTLSSecurityOptions))
	}
	offered, _ := s.c.Extension("AUTH")
	cl := saslClient(offered, opts, user, pass)
	if cl == nil {
		r := mxFail(Deferred, "4.7.0", "SASL authentication failed; cannot authenticate to server %s: no mechanism available", s.relay)
		r.Relay, r.RemoteMTA = s.relay, s.host
		return r
	}
	if err := s.c.Auth(ctx, cl); err != nil {
		var e *smtp.Error
		if !errors.As(err, &e) {
			if s.pc.cur == phAuth && !errors.Is(err, os.ErrDeadlineExceeded) && !s.pc.cancelled.Load() && s.pc.lastCode != 0 {
				// A challenge the mechanism could not answer.
				r := mxFail(Deferred, "4.7.0", "SASL authentication failed; cannot authenticate to server %s: %v", s.relay, err)
				r.Relay, r.RemoteMTA = s.relay, s.host
				return r
			}
			return s.convFail(err)
		}
		r := s.replyResult(e, "AUTH")
		r.Text = fmt.Sprintf("SASL authentication failed; server %s said: %s", s.relay, smtpReplyText(e))
		if r.Status == Bounced && !t.SASLAuthHardBounce {
			r.Status, r.DSN = Deferred, "4"+r.DSN[1:]
		}
		a.log.Warn(r.Text, "queue_id", a.d.Envelope.ID)
		return r
	}
	return nil
}

func smtpOrStr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
