package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/internal/serve"
	"github.com/yubinmail/yubin/store"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
// or Close.
var ErrServerClosed = errors.New("pop3: server closed")

// ExpireNever is the Expire value that advertises "EXPIRE NEVER".
const ExpireNever time.Duration = -1

// DefaultUIDLFormat is Dovecot's default pop3_uidl_format (and the common
// setting): the UID and the UIDVALIDITY as eight hex digits each.
const DefaultUIDLFormat = "%08Xu%08Xv"

// Defaults of the Server's limits and timeouts.
const (
	DefaultMaxLineLength     = 255
	DefaultMaxAuthLineLength = 8192
	DefaultMaxBadCommands    = 20
	DefaultMaxUserIP         = 10
	// DefaultMaxConnections is Dovecot's process_limit of service pop3.
	DefaultMaxConnections = 1024
	// DefaultLoginMaxConnectionsPerIP is LoginMaxConnectionsPerIP's
	// default: Postfix's smtpd_client_connection_count_limit.
	DefaultLoginMaxConnectionsPerIP = 50
	DefaultIdleTimeout              = 10 * time.Minute
	DefaultLoginTimeout             = 3 * time.Minute
	DefaultWriteTimeout             = 2 * time.Minute
	DefaultTLSHandshakeTimeout      = 30 * time.Second
	DefaultGreeting                 = "yubin ready."
	DefaultAPOPFailureDelay         = 2 * time.Second
)

// DefaultLockSessionWait is Server.LockSessionWait when it is 0. It
// lets a client that logs in again right after QUIT wait out the end of
// its previous session's UPDATE state, and is shorter than Dovecot's
// 10 s because a client refused with [IN-USE] (RFC 2449) retries later
// anyway.
const DefaultLockSessionWait = 2 * time.Second

// Server is a POP3 server. Its zero value serves nobody (no
// Authenticator, no Backend); set at least Authenticator and Backend.
// Fields must not be changed once Serve has been called.
type Server struct {
	// Addr is the TCP address ListenAndServe listens on; empty means
	// ":110" (":995" for ListenAndServeTLS).
	Addr string
	// TLSConfig enables STLS (RFC 2595) on plain connections and is the
	// configuration of implicit-TLS listeners (ServeTLS,
	// ListenAndServeTLS). Nil offers no TLS.
	TLSConfig *tls.Config
	// Authenticator checks USER/PASS and runs SASL AUTH exchanges. Nil
	// means nobody can log in.
	Authenticator authn.Authenticator
	// Credentials, when set, enables APOP: the greeting carries a
	// timestamp and APOP digests are checked against the plaintext
	// password LookupCredentials(ctx, user, "PLAIN") returns. When nil,
	// the Authenticator is used if it implements auth.CredentialLookup;
	// otherwise APOP is not offered.
	Credentials authn.CredentialLookup
	// APOPFailureDelay is how long a failed APOP waits before its
	// answer when the Authenticator has no Attempt method; with one
	// (auth.Service.Attempt), APOP gets the Authenticator's own failure
	// delay and per-IP penalty, as USER/PASS and AUTH do. Zero means
	// DefaultAPOPFailureDelay, 2 seconds; negative means none.
	APOPFailureDelay time.Duration
	// Backend opens the mail store of a logged-in user; only its INBOX
	// is visible over POP3.
	Backend store.Backend
	// Logger receives session and error logs; nil discards them.
	Logger *slog.Logger

	// Hostname goes into the APOP timestamp; empty means "localhost".
	Hostname string
	// Greeting is the text after "+OK " in the greeting; empty means
	// DefaultGreeting.
	Greeting string
	// UIDLFormat is Dovecot's pop3_uidl_format: %u (UID), %v
	// (UIDVALIDITY), %f (Maildir file name), %g (message GUID), with
	// Dovecot's width, offset and modifier syntax (%08Xu). Empty means
	// DefaultUIDLFormat. Serve fails on an invalid format.
	UIDLFormat string
	// LockSession is Dovecot's pop3_lock_session: while one POP3 session
	// of a user is in the TRANSACTION state, another login of the same
	// user gets "-ERR [IN-USE]". A second session of this Server is
	// refused at once. When the user's Store implements
	// store.SessionLocker (maildir: Dovecot's dovecot-pop3-session.lock),
	// each session also holds that lock, which keeps out sessions of
	// other Servers and processes, Dovecot's pop3 included; a login
	// waits up to LockSessionWait for it (see the package doc).
	LockSession bool
	// LockSessionWait is how long a login waits for a user's session
	// lock held by a session of another process or Server (a Dovecot
	// pop3, a second yubin) before answering "-ERR [IN-USE]"; 0 means
	// DefaultLockSessionWait, 2 seconds. A session of the same Server is
	// answered at once, without the wait.
	LockSessionWait time.Duration
	// NoFlagUpdates is Dovecot's pop3_no_flag_updates: RETR does not set
	// \Seen, and INBOX is opened with store.OpenOptions.KeepRecent, so
	// the session does not take \Recent either. Without it the session
	// takes \Recent, as Dovecot's pop3 does by default.
	NoFlagUpdates bool
	// LoginDelay, when positive, is advertised as LOGIN-DELAY (RFC 2449,
	// in seconds) and enforced: a user logging in again sooner gets
	// "-ERR [LOGIN-DELAY]".
	LoginDelay time.Duration
	// Expire, when non-zero, is advertised as EXPIRE (RFC 2449): a
	// positive duration in whole days (rounded up), ExpireNever as
	// "NEVER". The server itself deletes nothing.
	Expire time.Duration

	// MaxLineLength bounds a command line, CRLF included; default 255
	// (RFC 2449 section 4).
	MaxLineLength int
	// MaxAuthLineLength bounds a client's line in a SASL exchange;
	// default 8192.
	MaxAuthLineLength int
	// MaxBadCommands is how many unknown, malformed or refused commands
	// a session may send before it is disconnected; default 20.
	MaxBadCommands int
	// MaxConnections bounds the concurrent connections, logged in or
	// not, as Dovecot's process_limit of service pop3 (one process per
	// session) does. A connection over it is answered "-ERR [SYS/TEMP]
	// Maximum number of connections exceeded (process_limit=N)." and
	// closed. 0 means DefaultMaxConnections, 1024 (Dovecot's); negative
	// means no limit.
	MaxConnections int
	// LoginMaxConnectionsPerIP bounds the connections from one IP
	// address (IPv6: one /64) that have not logged in yet, so that one
	// client cannot hold every login slot (Dovecot has no per-address
	// pre-login limit; its login processes' client_limit only bounds the
	// total; this is Postfix's smtpd_client_connection_count_limit for
	// the AUTHORIZATION state). A connection over it is answered "-ERR
	// [SYS/TEMP] Too many connections from your IP address
	// (login_max_connections_per_ip=N)." and closed; TrustedNetworks of
	// the Authenticator are not exempt. 0 means
	// DefaultLoginMaxConnectionsPerIP, 50; negative means no limit.
	LoginMaxConnectionsPerIP int
	// MaxUserIPConnections is Dovecot's mail_max_userip_connections:
	// how many logged-in sessions one user may have from one IP address
	// at a time; more logins get "-ERR [IN-USE]". 0 means the default,
	// 10 (Dovecot's for POP3); negative means no limit.
	MaxUserIPConnections int
	// IdleTimeout is how long the server waits for a command (RFC 1939's
	// autologout timer, at least 10 minutes); default 10 minutes.
	IdleTimeout time.Duration
	// LoginTimeout disconnects a client that has not logged in within
	// this long of connecting, whatever it sends meanwhile (default 3
	// minutes, the fixed limit of Dovecot's login processes), so that a
	// client cannot hold a pre-login slot (LoginMaxConnectionsPerIP) by
	// sending NOOPs.
	LoginTimeout time.Duration
	// WriteTimeout bounds each write to the client; default 2 minutes.
	WriteTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake; default 30 seconds.
	TLSHandshakeTimeout time.Duration
	// CommandHook, when set, is called once for every client command,
	// on the session's goroutine, after its reply has been written (to
	// the session's buffer, which goes out before the server waits for
	// the next command): name is the keyword in upper case ("RETR"),
	// always one of the commands the server knows or "UNKNOWN", so it is
	// safe as a metric label; ok is true when the reply was +OK; took
	// runs from the end of the command line to the end of the reply. It
	// must not block. Nil, the default, costs nothing.
	CommandHook func(name string, ok bool, took time.Duration)
	// LogoutHook, when set, is called once when a session that logged
	// in ends, however it ends, on the session's goroutine (Dovecot logs
	// its "Disconnected: Logged out top=..., retr=..., del=..., size=..."
	// line then). It must not block.
	LogoutHook func(*Logout)
	// ConnState, when set, is called when a connection changes state:
	// accepted, logged in, closed. It must not block.
	ConnState func(c net.Conn, state ConnState)

	initOnce sync.Once
	initErr  error
	uidl     *uidlFormat

	mu        sync.Mutex
	sessions  serve.Group
	prelogin  serve.AddrCounter // sessions not logged in, per address
	locked    map[string]struct{}
	userIP    map[string]int
	lastLogin map[string]time.Time
	baseCtx   context.Context
	cancel    context.CancelFunc
}

func (s *Server) init() error {
	s.initOnce.Do(func() {
		f := s.UIDLFormat
		if f == "" {
			f = DefaultUIDLFormat
		}
		s.uidl, s.initErr = parseUIDLFormat(f)
		s.mu.Lock()
		s.locked = map[string]struct{}{}
		s.userIP = map[string]int{}
		s.lastLogin = map[string]time.Time{}
		s.baseCtx, s.cancel = context.WithCancel(context.Background())
		s.mu.Unlock()
	})
	return s.initErr
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// ListenAndServe listens on Addr (":110" when empty) and serves plain
// POP3 with STLS when TLSConfig is set.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":110"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on Addr (":995" when empty) and serves POP3
// over implicit TLS (RFC 8314) with TLSConfig.
func (s *Server) ListenAndServeTLS() error {
	addr := s.Addr
	if addr == "" {
		addr = ":995"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeTLS(l)
}

// ServeTLS serves implicit-TLS POP3 (port 995) on l: every connection
// starts with a TLS handshake using TLSConfig.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.TLSConfig == nil {
		l.Close()
		return errors.New("pop3: ServeTLS needs a TLSConfig")
	}
	return s.Serve(tls.NewListener(l, s.TLSConfig))
}

// Serve accepts connections on l and serves each in its own goroutine. It
// returns ErrServerClosed after Shutdown or Close, and the error of a
// failed Accept otherwise. Serve closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	if err := s.init(); err != nil {
		l.Close()
		return err
	}
	s.sessions.SetLogger(s.logger())
	err := s.sessions.Serve(l, func(c net.Conn) {
		s.connState(c, StateNew)
		defer s.connState(c, StateClosed)
		sess := newSession(s, c)
		others, ok := s.sessions.TrackCounting(sess)
		if !ok {
			c.Close()
			return
		}
		if max := s.maxConnections(); max > 0 && others >= max {
			sess.refusal = &Error{Code: CodeSysTemp, Text: "Maximum number of connections exceeded (process_limit=" + itoa(max) + ")."}
		} else if !s.prelogin.Acquire(c.RemoteAddr(), s.loginPerIP()) {
			sess.refusal = &Error{Code: CodeSysTemp, Text: "Too many connections from your IP address (login_max_connections_per_ip=" + itoa(s.loginPerIP()) + ")."}
		} else {
			sess.prelogin = true
		}
		sess.serve()
	})
	if errors.Is(err, serve.ErrClosed) {
		return ErrServerClosed
	}
	return err
}

func (s *Server) maxConnections() int {
	if s.MaxConnections == 0 {
		return DefaultMaxConnections
	}
	return s.MaxConnections
}

func (s *Server) loginPerIP() int {
	if s.LoginMaxConnectionsPerIP == 0 {
		return DefaultLoginMaxConnectionsPerIP
	}
	return s.LoginMaxConnectionsPerIP
}

// closing reports whether Shutdown or Close has been called.
func (s *Server) closing() bool { return s.sessions.Closing() }

// Shutdown stops accepting connections, tells sessions waiting for a
// command that the server is going away ("-ERR [SYS/TEMP]"; nothing is
// deleted for them), lets running commands finish, and waits for every
// session to end or ctx to be done, when the remaining connections are
// closed and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.init(); err != nil {
		return err
	}
	// Once ctx is done, sessions are aborted: end their work too.
	stop := context.AfterFunc(ctx, s.cancel)
	defer stop()
	return s.sessions.Shutdown(ctx)
}

// Close closes the listeners and every connection at once. Sessions
// that did not reach QUIT delete nothing.
func (s *Server) Close() error {
	if err := s.init(); err != nil {
		return err
	}
	s.cancel()
	return s.sessions.Close()
}

// lockUser takes the pop3_lock_session lock of user.
func (s *Server) lockUser(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.locked[user]; held {
		return false
	}
	s.locked[user] = struct{}{}
	return true
}

func (s *Server) unlockUser(user string) {
	s.mu.Lock()
	delete(s.locked, user)
	s.mu.Unlock()
}

// takeUserIP counts a logged-in session of user from ip against
// MaxUserIPConnections.
func (s *Server) takeUserIP(key string) bool {
	limit := s.MaxUserIPConnections
	if limit < 0 {
		return true
	}
	if limit == 0 {
		limit = DefaultMaxUserIP
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userIP[key] >= limit {
		return false
	}
	s.userIP[key]++
	return true
}

func (s *Server) releaseUserIP(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userIP[key] <= 1 {
		delete(s.userIP, key)
	} else {
		s.userIP[key]--
	}
}

// loginTooSoon checks and records LOGIN-DELAY for user.
func (s *Server) loginTooSoon(user string, now time.Time) bool {
	if s.LoginDelay <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.lastLogin[user]; ok && now.Sub(last) < s.LoginDelay {
		return true
	}
	if len(s.lastLogin) > 4096 {
		for u, t := range s.lastLogin {
			if now.Sub(t) >= s.LoginDelay {
				delete(s.lastLogin, u)
			}
		}
	}
	s.lastLogin[user] = now
	return false
}

// ConnState is a connection's state, reported to Server.ConnState.
type ConnState int

// Connection states.
const (
	StateNew    ConnState = iota // accepted, greeting not yet sent
	StateAuth                    // logged in
	StateClosed                  // ended
)

func (s *Server) connState(c net.Conn, st ConnState) {
	if s.ConnState != nil {
		s.ConnState(c, st)
	}
}
