package managesieve

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
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
// or Close.
var ErrServerClosed = errors.New("managesieve: server closed")

// DefaultPort is ManageSieve's registered port (RFC 5804 section 1.8).
const DefaultPort = "4190"

// Defaults of the Server's limits and timeouts.
const (
	DefaultImplementation = "yubin"
	DefaultGreeting       = "yubin ready."
	// DefaultMaxScriptSize is Pigeonhole's sieve_max_script_size.
	DefaultMaxScriptSize = sievestore.DefaultMaxScriptSize
	DefaultMaxLineLength = 8192
	// DefaultMaxAuthSize bounds a SASL response and any literal sent
	// before login.
	DefaultMaxAuthSize    = 8192
	DefaultMaxBadCommands = 20
	// DefaultMaxLoginBadCommands is Dovecot's login processes' limit.
	DefaultMaxLoginBadCommands = 3
	DefaultMaxLoginCommands    = 50
	DefaultMaxRedirects        = 4 // Pigeonhole's sieve_max_redirects
	DefaultIdleTimeout         = 30 * time.Minute
	DefaultLoginTimeout        = 3 * time.Minute
	DefaultWriteTimeout        = 2 * time.Minute
	DefaultTLSHandshakeTimeout = 30 * time.Second
	DefaultLoginMaxConnsPerIP  = 50
	// DefaultMaxConnections is Dovecot's default process_limit.
	DefaultMaxConnections = 1024
)

// DefaultExtensions are the SIEVE capability's extensions, Pigeonhole
// 2.3's default sieve_extensions, in its order.
var DefaultExtensions = []string{"fileinto", "reject", "envelope", "encoded-character", "vacation", "subaddress", "comparator-i;ascii-numeric", "relational", "regex", "imap4flags", "copy", "include", "variables", "body", "enotify", "environment", "mailbox", "date", "index", "ihave", "duplicate", "mime", "foreverypart", "extracttext"}

// Scripts is one user's script storage as the server uses it;
// *sievestore.Store implements it. Errors the server maps to response
// codes: sievestore.ErrNotFound (NONEXISTENT), ErrExists
// (ALREADYEXISTS), ErrActive (ACTIVE), ErrInvalidName and
// *sievestore.QuotaError (QUOTA/...); an *Error is sent as it is;
// anything else is logged and answered NO (TRYLATER).
type Scripts interface {
	List(ctx context.Context) ([]sievestore.Script, error)
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, script []byte) error
	HaveSpace(ctx context.Context, name string, size int64) error
	Delete(ctx context.Context, name string) error
	Rename(ctx context.Context, oldName, newName string) error
	SetActive(ctx context.Context, name string) error
}

// Backend opens the script storage of a user who has logged in.
type Backend interface {
	Open(ctx context.Context, id *authn.Identity) (Scripts, error)
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(ctx context.Context, id *authn.Identity) (Scripts, error)

// Open calls f.
func (f BackendFunc) Open(ctx context.Context, id *authn.Identity) (Scripts, error) {
	return f(ctx, id)
}

// ConnState is a connection's state, reported to Server.ConnState.
type ConnState int

// Connection states.
const (
	StateNew    ConnState = iota // accepted, greeting not yet sent
	StateAuth                    // logged in
	StateClosed                  // ended
)

// Server is a ManageSieve server (RFC 5804). Its zero value lets nobody
// in; set Authenticator and Backend. Fields must not change once Serve
// has been called.
type Server struct {
	// Addr is ListenAndServe's address; empty means ":4190".
	Addr string
	// TLSConfig enables STARTTLS; nil offers none.
	TLSConfig *tls.Config
	// Authenticator runs AUTHENTICATE's SASL exchanges; plaintext
	// mechanisms are refused without TLS unless it allows them
	// (auth.Service: loopback, trusted networks, AllowPlaintext).
	Authenticator authn.Authenticator
	// Backend opens a logged-in user's scripts.
	Backend Backend
	// Check compiles a script for PUTSCRIPT and CHECKSCRIPT: name is
	// the script's name ("" for CHECKSCRIPT); UserScripts(ctx) is the
	// user's storage, for includes. An error of type *ScriptError is
	// sent to the client with NO; *ScriptWarnings accepts the script and
	// sends its text with OK (WARNINGS); any other error gets NO
	// (TRYLATER). Nil accepts every script.
	Check func(ctx context.Context, name string, script []byte) error
	// Logger receives session and error logs; nil discards them.
	Logger *slog.Logger
	// ConnState, when set, is called when a connection changes state:
	// accepted, logged in, closed. It must not block.
	ConnState func(c net.Conn, state ConnState)
	// CommandHook, when set, is called after each command with its name
	// (one of the commands the server knows, or "UNKNOWN": safe as a
	// metric label), whether its reply was OK, and how long it took. It
	// must not block. Nil, the default, costs nothing.
	CommandHook func(name string, ok bool, took time.Duration)

	// Implementation is the IMPLEMENTATION capability; empty means
	// DefaultImplementation.
	Implementation string
	// Greeting is the greeting's OK text; empty means DefaultGreeting.
	Greeting string
	// Extensions is the SIEVE capability; nil means DefaultExtensions.
	Extensions []string
	// NotifyMethods is the NOTIFY capability; nil means "mailto".
	NotifyMethods []string
	// MaxRedirects is the MAXREDIRECTS capability; 0 means
	// DefaultMaxRedirects, negative leaves it out.
	MaxRedirects int

	// MaxScriptSize bounds a script (a literal) after login; 0 means
	// DefaultMaxScriptSize. A larger PUTSCRIPT is answered NO
	// (QUOTA/MAXSIZE) and its data skipped, as Pigeonhole does, when
	// it is at most four times the limit; beyond that the session ends.
	MaxScriptSize int64
	// MaxLineLength bounds a command line outside literals, CRLF
	// included; 0 means DefaultMaxLineLength. A longer line ends the
	// session.
	MaxLineLength int
	// MaxAuthSize bounds a SASL response and a literal before login; 0
	// means DefaultMaxAuthSize. More ends the session.
	MaxAuthSize int
	// MaxBadCommands is how many unknown or malformed commands in a row
	// a logged-in session may send (a command carried out, even if
	// refused, resets the count): the last one is answered BYE "Too many
	// invalid MANAGESIEVE commands." and the session ends; 0 means
	// DefaultMaxBadCommands.
	MaxBadCommands int
	// MaxLoginBadCommands is MaxBadCommands before login; 0 means
	// DefaultMaxLoginBadCommands, 3, as Dovecot's login processes.
	MaxLoginBadCommands int
	// MaxLoginCommands is how many commands a client may send before it
	// logs in; 0 means DefaultMaxLoginCommands.
	MaxLoginCommands int
	// MaxConnections bounds the concurrent connections, logged in or
	// not (Dovecot's process_limit); one over it is answered BYE
	// (TRYLATER) and closed. 0 means DefaultMaxConnections, negative no
	// limit.
	MaxConnections int
	// LoginMaxConnectionsPerIP bounds the not-yet-logged-in connections
	// from one address (IPv6: a /64); 0 means
	// DefaultLoginMaxConnsPerIP, negative no limit.
	LoginMaxConnectionsPerIP int
	// IdleTimeout is how long the server waits for a command; 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// LoginTimeout ends a session that has not logged in this long
	// after connecting; 0 means DefaultLoginTimeout.
	LoginTimeout time.Duration
	// WriteTimeout bounds each write; 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake; 0 means
	// DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration

	sessions serve.Group
	prelogin serve.AddrCounter

	initOnce sync.Once
	baseCtx  context.Context // parent of the sessions' contexts
	cancel   context.CancelFunc
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.baseCtx, s.cancel = context.WithCancel(context.Background())
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// ListenAndServe listens on Addr (":4190" when empty) and serves.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":" + DefaultPort
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each in its own goroutine.
// It returns ErrServerClosed after Shutdown or Close, and closes l.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	s.sessions.SetLogger(s.logger())
	err := s.sessions.Serve(l, func(c net.Conn) {
		sess := newSession(s, c)
		others, ok := s.sessions.TrackCounting(sess)
		if !ok {
			c.Close()
			return
		}
		if s.ConnState != nil {
			s.ConnState(c, StateNew)
		}
		limit := s.LoginMaxConnectionsPerIP
		if limit == 0 {
			limit = DefaultLoginMaxConnsPerIP
		}
		maxConns := s.MaxConnections
		if maxConns == 0 {
			maxConns = DefaultMaxConnections
		}
		if maxConns > 0 && others >= maxConns {
			sess.refusal = &Error{Bye: true, Code: CodeTryLater, Text: "Maximum number of connections exceeded."}
		} else if !s.prelogin.Acquire(c.RemoteAddr(), limit) {
			sess.refusal = &Error{Bye: true, Text: "Too many connections from your IP address."}
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

// Shutdown stops accepting, says BYE to sessions waiting for a command,
// lets running commands finish, and waits for the sessions to end or
// ctx to be done, when the rest are closed and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	// Once ctx is done, sessions are aborted: end their work too.
	stop := context.AfterFunc(ctx, s.cancel)
	defer stop()
	return s.sessions.Shutdown(ctx)
}

// Close closes the listeners and every connection at once, and cancels
// the sessions' work in progress.
func (s *Server) Close() error {
	s.init()
	s.cancel()
	return s.sessions.Close()
}
