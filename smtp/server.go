package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/internal/serve"
)

// Defaults of the Server limits, as Postfix's smtpd has them.
const (
	DefaultMaxMessageBytes       = 10240000    // message_size_limit
	DefaultMaxRecipients         = 1000        // smtpd_recipient_limit
	DefaultMaxErrors             = 20          // smtpd_hard_error_limit
	DefaultSoftErrorLimit        = 10          // smtpd_soft_error_limit
	DefaultErrorSleep            = time.Second // smtpd_error_sleep_time
	DefaultMaxJunkCommands       = 100         // smtpd_junk_command_limit
	DefaultMaxRecipientOvershoot = 1000        // smtpd_recipient_overshoot_limit
	DefaultMaxConnsPerClient     = 50          // smtpd_client_connection_count_limit
	DefaultTimeout               = 300 * time.Second
)

// Server is an SMTP server. Its zero value is a working port 25 server
// with default limits that offers no STARTTLS and no AUTH and hands mail
// to a Backend that refuses every transaction with 451 (set Backend).
// Fields must not be changed once Serve has been called.
type Server struct {
	// Addr is the TCP address ListenAndServe listens on, ":25" (or
	// ":465" for ListenAndServeTLS) when empty.
	Addr string
	// Hostname is $myhostname, used in the banner, the EHLO reply and the
	// Received header; os.Hostname() when empty.
	Hostname string
	// Banner is the greeting text after "220 "; Hostname+" ESMTP" when
	// empty (as a typical smtpd_banner: no software name or version).
	Banner string
	// Service names the listener for logs and auth: "smtp" when empty.
	Service string

	// Backend receives the mail transactions.
	Backend Backend
	// Policy, when set, is asked at every stage (connect, HELO, MAIL,
	// RCPT, DATA, end of data); see Policy. Without one the Backend
	// alone decides which recipients are accepted.
	Policy Policy
	// Limiter, when set, enforces per-client rates and concurrency as
	// Postfix's anvil does (see RateLimiter; a *restrict.Limiter from
	// restrict.Policy.NewLimiter fits).
	Limiter RateLimiter
	// Authenticator enables AUTH (RFC 4954); an *auth.Service fits. nil:
	// AUTH is not offered and answered with "503 5.5.1 Error:
	// authentication not enabled" (Postfix's reply on a port without
	// smtpd_sasl_auth_enable).
	Authenticator authn.Authenticator

	// Ext is the set of extensions offered; zero means DefaultExtensions.
	Ext Extensions
	// TLSConfig enables STARTTLS (and is used by ListenAndServeTLS).
	// Session tickets are turned off in the server's copy unless
	// TLSSessionTickets is set.
	TLSConfig *tls.Config
	// TLSSessionTickets keeps TLS session tickets on (off by default:
	// Microsoft's senders abort STARTTLS against Go with them on).
	TLSSessionTickets bool
	// TLSRequired refuses MAIL and AUTH before STARTTLS with
	// "530 5.7.0 Must issue a STARTTLS command first"
	// (smtpd_tls_security_level = encrypt).
	TLSRequired bool
	// TLSAuthOnly offers AUTH only over TLS (smtpd_tls_auth_only).
	TLSAuthOnly bool
	// AuthRequired refuses MAIL before a successful AUTH with
	// "530 5.7.0 Authentication required" (submission).
	AuthRequired bool
	// NoDelayReject sends refusals at connect, HELO and MAIL at once
	// (smtpd_delay_reject = no); by default they are sent at RCPT. A
	// Policy with Params (a *restrict.Policy) that sets
	// smtpd_delay_reject = no has the same effect.
	NoDelayReject bool
	// HeloRequired answers MAIL before HELO/EHLO with "503 5.5.1 Error:
	// send HELO/EHLO first" (smtpd_helo_required = yes); by default, as
	// in Postfix, MAIL is allowed without it. A Policy with Params that
	// sets smtpd_helo_required = yes has the same effect.
	HeloRequired bool
	// EnableVRFY answers VRFY with 252; off by default, like
	// disable_vrfy_command = yes.
	EnableVRFY bool
	// StrictRFC821Envelopes refuses MAIL and RCPT addresses that do not
	// follow RFC 5321's grammar (Postfix's strict_rfc821_envelopes). By
	// default, as in Postfix, an address is only checked to be one
	// token: "user" without a domain, "x@y@z" and the like reach the
	// restrictions and the Backend, which judge them (Postfix appends
	// @$myorigin to a bare "user"; restrict.Policy.Canonical does that).
	StrictRFC821Envelopes bool
	// ForbidUnauthPipelining ends a session that sends commands ahead of
	// time where RFC 2920 does not allow it (after EHLO, HELO, STARTTLS,
	// AUTH, DATA, NOOP or VRFY) with "554 5.5.0 Error: SMTP protocol
	// synchronization" (smtpd_forbid_unauth_pipelining = yes); a client
	// that talked before the greeting gets that reply instead of the
	// greeting (seen on plaintext sockets only: the server looks at what
	// has arrived just before it greets, and never waits for it).
	//
	// This is the default, as in Postfix 3.9 and later: a session is
	// allowed to pipeline ahead of time only with AllowUnauthPipelining,
	// or when the Policy has Params (a *restrict.Policy) that set
	// smtpd_forbid_unauth_pipelining = no. Such a session is then only
	// logged ("improper command pipelining after ...") and reported to
	// the Policy (reject_unauth_pipelining). ForbidUnauthPipelining
	// forbids it whatever the Policy says.
	ForbidUnauthPipelining bool
	// AllowUnauthPipelining turns the default ForbidUnauthPipelining off
	// (smtpd_forbid_unauth_pipelining = no), for clients known to talk
	// out of turn.
	AllowUnauthPipelining bool
	// BURL, when set, offers BURL (RFC 4468) to clients that have
	// authenticated: "BURL imap" in the EHLO reply after AUTH, and the
	// BURL command, whose URL's data BURL fetches as the SASL user.
	// Nil, the default, offers nothing (Postfix has no BURL).
	BURL BURLFetcher
	// RejectBareLF refuses a message with a bare LF with
	// "550 5.5.2 Error: bare <LF> received"; by default such lines are
	// normalised to CRLF (and "\n.\n" never ends DATA).
	RejectBareLF bool
	// NoReceivedHeader turns off the Received: header the server
	// prepends; TLSReceivedHeader adds the TLS details to it
	// (smtpd_tls_received_header).
	NoReceivedHeader  bool
	TLSReceivedHeader bool
	// BackendLogsQueued says the Backend logs each accepted message's
	// "from=<...>, size=..., nrcpt=... (queue active)" line itself, as a
	// mail queue does (Postfix's qmgr; queue.Queue): the server then
	// does not log its own copy.
	BackendLogsQueued bool

	// MaxLineLength limits command lines, CRLF included (default 1000).
	MaxLineLength int
	// MaxMessageBytes is message_size_limit (default 10240000; < 0 means
	// no limit). It is announced with SIZE.
	MaxMessageBytes int64
	// MaxRecipients limits RCPTs per message (smtpd_recipient_limit;
	// default 1000, or the Policy's Params when they have it; < 0 means
	// no limit).
	MaxRecipients int
	// MaxHeaderBytes bounds the header held back for header_checks
	// (header_size_limit, default 102400); MaxBodyCheckBytes the start
	// of the body given to body_checks (body_checks_size_limit, default
	// 51200). See ContentChecker.
	MaxHeaderBytes    int
	MaxBodyCheckBytes int
	// The tarpit, as Postfix's smtpd has it. A session counts its errors
	// (every refused command, unknown or malformed command, and the
	// junk and overshoot below) until it delivers a message, which
	// forgives them. Each field left zero takes the value the Policy's
	// Params give (a *restrict.Policy: main.cf's smtpd_hard_error_limit
	// and friends), else Postfix's default.
	//
	// MaxErrors is smtpd_hard_error_limit: at this many errors the session
	// is told "421 4.7.0 <host> Error: too many errors" and closed
	// (default 20; < 0: no limit).
	MaxErrors int
	// SoftErrorLimit is smtpd_soft_error_limit: once a session has made
	// this many errors, every reply waits ErrorSleep first (default 10;
	// < 0: never). ErrorSleep is smtpd_error_sleep_time (default 1s;
	// < 0: no wait).
	SoftErrorLimit int
	ErrorSleep     time.Duration
	// MaxJunkCommands is smtpd_junk_command_limit: past this many HELO,
	// EHLO, RSET, NOOP and VRFY commands each one counts as an error
	// (default 100; < 0: no limit).
	MaxJunkCommands int
	// MaxRecipientOvershoot is smtpd_recipient_overshoot_limit: RCPTs
	// beyond MaxRecipients get "452 4.5.3 Error: too many recipients";
	// past this many such RCPTs in one transaction each one counts as an
	// error (default 1000; < 0: every one counts).
	MaxRecipientOvershoot int
	// MaxConnsPerClient limits simultaneous connections from one IP
	// address (default 50; < 0 means no limit).
	MaxConnsPerClient int
	// ProcessLimit bounds the sessions served at once, as Postfix's
	// process_limit of smtpd (default_process_limit, 100): at the limit
	// the server stops accepting, so new clients wait in the listen
	// backlog instead of being refused, and a warning is logged. 0, the
	// default, means no limit.
	ProcessLimit int
	// ReadTimeout bounds the wait for each command (default 300s);
	// DataTimeout the wait for each piece of DATA or BDAT content
	// (default 300s); WriteTimeout each write (default 300s).
	ReadTimeout  time.Duration
	DataTimeout  time.Duration
	WriteTimeout time.Duration
	// TLSHandshakeTimeout bounds STARTTLS and implicit TLS handshakes
	// (default 30s).
	TLSHandshakeTimeout time.Duration

	// Logger receives Postfix-like log lines ("connect from ..."); nil
	// discards them.
	Logger *slog.Logger
	// CommandHook, when set, is called after each command with its verb
	// in upper case ("EHLO", "MAIL", "RCPT", "DATA", ..., "UNKNOWN" for
	// anything else: a small set, safe as a metric label), whether it
	// succeeded (as the "disconnect from" line's counters count it), and
	// how long it took, from the end of the command line to the end of
	// its reply (DATA: the message and its acceptance included). It must
	// not block. Nil, the default, costs nothing.
	CommandHook func(name string, ok bool, took time.Duration)
	// ConnState, when set, is called when a connection changes state:
	// accepted, authenticated, closed. It must not block.
	ConnState func(c net.Conn, state ConnState)

	sessions  serve.Group
	mu        sync.Mutex // guards perClient
	perClient map[string]int
	tlsOnce   sync.Once
	tlsConf   *tls.Config
	ccOnce    sync.Once
	cc        ContentChecker
	limits    atomic.Pointer[cachedLimits]
}

func (s *Server) hostname() string {
	if s.Hostname != "" {
		return s.Hostname
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

func (s *Server) ext() Extensions {
	if s.Ext == 0 {
		return DefaultExtensions
	}
	return s.Ext
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return discardLogger
}

func (s *Server) service() string {
	if s.Service != "" {
		return s.Service
	}
	return "smtp"
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func (s *Server) maxMessageBytes() int64 {
	switch {
	case s.MaxMessageBytes == 0:
		return DefaultMaxMessageBytes
	case s.MaxMessageBytes < 0:
		return 0
	}
	return s.MaxMessageBytes
}

// serverTLS returns the server's TLS config with session tickets off.
func (s *Server) serverTLS() *tls.Config {
	s.tlsOnce.Do(func() {
		if s.TLSConfig == nil {
			return
		}
		c := s.TLSConfig.Clone()
		if !s.TLSSessionTickets {
			c.SessionTicketsDisabled = true
		}
		s.tlsConf = c
	})
	return s.tlsConf
}

// ListenAndServe listens on Addr (":25" by default) and serves.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":25"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on Addr (":465" by default) with implicit
// TLS (RFC 8314, the "submissions" port) and serves. TLSConfig must be set.
func (s *Server) ListenAndServeTLS() error {
	if s.serverTLS() == nil {
		return errors.New("smtp: ListenAndServeTLS needs TLSConfig")
	}
	addr := s.Addr
	if addr == "" {
		addr = ":465"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeTLS(l)
}

// ServeTLS is Serve with implicit TLS (port 465, submissions) on l,
// with TLSConfig.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.serverTLS() == nil {
		return errors.New("smtp: ServeTLS needs TLSConfig")
	}
	return s.Serve(tls.NewListener(l, s.serverTLS()))
}

// Serve accepts connections on l and serves each in its own goroutine.
// A listener made by tls.NewListener gives implicit TLS (port 465). It
// returns ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	name := s.Service
	if name == "" {
		name = "smtp"
	}
	s.sessions.SetLogger(s.logger())
	s.sessions.SetProcessLimit(s.ProcessLimit, name)
	err := s.sessions.Serve(l, s.serveConn)
	if errors.Is(err, serve.ErrClosed) {
		return ErrServerClosed
	}
	return err
}

// closing reports whether Shutdown or Close has been called.
func (s *Server) closing() bool { return s.sessions.Closing() }

// Shutdown stops accepting connections, answers the next command of
// every session with "421 4.3.2 Service shutting down" (idle sessions at
// once, sessions inside a transaction when it ends) and waits for all
// sessions to end or ctx to expire, after which the remaining
// connections are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.sessions.Shutdown(ctx)
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	return s.sessions.Close()
}

// countClient counts a connection from ip against MaxConnsPerClient and
// reports whether it is within the limit; uncountClient undoes it.
func (s *Server) countClient(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perClient == nil {
		s.perClient = make(map[string]int)
	}
	s.perClient[ip]++
	limit := s.MaxConnsPerClient
	if limit == 0 {
		limit = DefaultMaxConnsPerClient
	}
	return limit < 0 || s.perClient[ip] <= limit
}

func (s *Server) uncountClient(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perClient[ip]--; s.perClient[ip] <= 0 {
		delete(s.perClient, ip)
	}
}

var discardLogger = slog.New(slog.DiscardHandler)

// ConnState is a connection's state, reported to Server.ConnState.
type ConnState int

// Connection states.
const (
	StateNew    ConnState = iota // accepted, greeting not yet sent
	StateAuth                    // AUTH succeeded
	StateClosed                  // ended
)

// connState reports a state change to Server.ConnState.
func (s *Server) connState(c net.Conn, st ConnState) {
	if s.ConnState != nil {
		s.ConnState(c, st)
	}
}
