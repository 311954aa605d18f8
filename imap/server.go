package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/imap/imapmsg"
	"github.com/yubinmail/yubin/internal/serve"
	"github.com/yubinmail/yubin/store"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
// or Close.
var ErrServerClosed = errors.New("imap: server closed")

// Default limits, as Dovecot 2.3 ships them.
const (
	DefaultMaxLineLength        = 64 << 10         // imap_max_line_length
	DefaultAppendLimit          = 50 << 20         // APPENDLIMIT advertised and enforced
	DefaultMaxUserIPConnections = 10               // mail_max_userip_connections
	DefaultAutologoutTimeout    = 30 * time.Minute // RFC 9051 5.4 minimum
	DefaultIdleNotifyInterval   = 2 * time.Minute  // imap_idle_notify_interval
	DefaultWriteTimeout         = 5 * time.Minute
	DefaultLoginTimeout         = 3 * time.Minute
	// DefaultMaxConnections is Dovecot's process_limit of service imap.
	DefaultMaxConnections = 1024
	// DefaultLoginMaxConnectionsPerIP is LoginMaxConnectionsPerIP's
	// default: Postfix's smtpd_client_connection_count_limit.
	DefaultLoginMaxConnectionsPerIP = 50
	// DefaultMaxMailboxes is MaxMailboxes' default.
	DefaultMaxMailboxes = 10000
)

// Server is an IMAP4rev2/IMAP4rev1 server over a store.Backend. Its zero
// value plus a Backend and an Authenticator serves IMAP on port 143 with
// Dovecot's limits; set TLSConfig to offer STARTTLS (and use ServeTLS or
// ListenAndServeTLS for implicit TLS on port 993).
type Server struct {
	// Addr is the TCP address ListenAndServe listens on (":143" if empty;
	// ListenAndServeTLS uses ":993").
	Addr string
	// TLSConfig enables STARTTLS and is used by ListenAndServeTLS.
	TLSConfig *tls.Config
	// Authenticator checks LOGIN and AUTHENTICATE; nil refuses every
	// login. Plaintext LOGIN before TLS is refused (LOGINDISABLED) unless
	// Authenticator.PlaintextAllowed says otherwise.
	Authenticator authn.Authenticator
	// Backend opens the store of a user who logged in.
	Backend store.Backend
	// Logger receives connection and error logs; nil discards them.
	Logger *slog.Logger
	// Greeting is the text of the "* OK" greeting (default "yubin ready.").
	Greeting string

	// MaxLineLength bounds a command line, literal strings held in
	// memory included (default 64 KiB, Dovecot's imap_max_line_length).
	MaxLineLength int
	// AppendLimit bounds one APPENDed message; it is advertised as
	// APPENDLIMIT= and larger literals are refused with [TOOBIG] before
	// any byte is read (default 50 MiB). Negative means no limit.
	AppendLimit int64
	// MaxUserIPConnections bounds concurrent sessions of one user from
	// one IP address (default 10, Dovecot's mail_max_userip_connections);
	// negative means unlimited.
	MaxUserIPConnections int
	// MaxConnections bounds the concurrent connections, logged in or
	// not, as Dovecot's process_limit of service imap (one process per
	// session) does. A connection over it is answered "* BYE Maximum
	// number of connections exceeded (process_limit=N)." and closed. 0
	// means DefaultMaxConnections, 1024 (Dovecot's); negative means no
	// limit.
	MaxConnections int
	// LoginMaxConnectionsPerIP bounds the connections from one IP
	// address (IPv6: one /64) that have not logged in yet, so that one
	// client cannot hold every login slot (Dovecot has no per-address
	// pre-login limit; its imap-login client_limit only bounds the
	// total; this is Postfix's smtpd_client_connection_count_limit for
	// the not-authenticated state). A connection over it is answered
	// "* BYE Too many connections from your IP address
	// (login_max_connections_per_ip=N)." and closed. 0 means
	// DefaultLoginMaxConnectionsPerIP, 50; negative means no limit.
	LoginMaxConnectionsPerIP int
	// MaxMailboxes bounds the number of mailboxes one user may have:
	// CREATE (and RENAME to a new parent) beyond it is refused with
	// "NO [LIMIT]", as Dovecot's mailbox_list_index limits. 0 means
	// DefaultMaxMailboxes (10000); negative means no limit.
	MaxMailboxes int
	// AutologoutTimeout disconnects an authenticated client that sends
	// nothing for this long (default 30 minutes; IDLE included).
	AutologoutTimeout time.Duration
	// LoginTimeout disconnects a client that has not logged in within
	// this long of connecting, whatever it sends meanwhile (default 3
	// minutes, the fixed limit of Dovecot's login processes), so that a
	// client cannot hold a pre-login slot (LoginMaxConnectionsPerIP) by
	// sending NOOPs. It also bounds a TLS handshake.
	LoginTimeout time.Duration
	// IdleNotifyInterval is how often "* OK Still here" is sent during
	// IDLE so that NAT boxes keep the connection (default 2 minutes).
	IdleNotifyInterval time.Duration
	// WriteTimeout disconnects a client that does not read its responses
	// for this long once the buffers are full (default 5 minutes).
	WriteTimeout time.Duration
	// PollInterval makes IDLE also poll the store this often, for formats
	// that cannot signal changes made by other processes (0: rely on
	// Mailbox.Notify plus a 30-second safety poll).
	PollInterval time.Duration
	// NotifyPollInterval is how often an IDLE session that asked with
	// NOTIFY (RFC 5465) for events of mailboxes other than the selected
	// one looks at them (default 5 seconds); between commands they are
	// looked at after every command that may carry updates.
	NotifyPollInterval time.Duration
	// MessageCache holds parsed message structures shared by all
	// sessions (nil: a cache of imapmsg.DefaultCacheBytes is made).
	MessageCache *imapmsg.Cache
	// MessageLimits bounds MIME parsing (zero: imapmsg's defaults).
	MessageLimits imapmsg.Limits

	// LoginAlert, when set, is asked after each successful login for a
	// text to show the user (a maintenance notice, an account message);
	// a non-empty answer is sent as "* OK [ALERT] text" before the
	// tagged OK. Server.Alert reaches sessions that are already logged
	// in.
	LoginAlert func(ctx context.Context, user string) string
	// QuotaWarnPercent, when positive, sends "* OK [ALERT] Mailbox is
	// N% full..." once per session when the user's storage or message
	// count is at or above this percentage of the quota, checked at
	// login and after APPEND, COPY and MOVE (Dovecot leaves this to
	// quota_warning scripts; 0, the default, sends nothing).
	QuotaWarnPercent int
	// CommandHook, when set, is called once for every client command,
	// on the session's goroutine, after its tagged reply has been
	// written: name is the verb in upper case ("FETCH"; a UID command
	// is "UID FETCH"), always one of the commands the server knows or
	// "UNKNOWN", so it is safe as a metric label; ok is true when the
	// tagged reply was OK; took runs from the command's first byte to
	// its reply (for IDLE, to DONE's reply). It must not block. Nil, the
	// default, costs nothing.
	CommandHook func(name string, ok bool, took time.Duration)
	// LogoutHook, when set, is called once when a session that logged
	// in ends, however it ends, on the session's goroutine (Dovecot logs
	// its "Disconnected: Logged out in=... out=..." line then). It must
	// not block.
	LogoutHook func(*Logout)

	// Metadata, when set, keeps METADATA entries (RFC 5464) and turns
	// the METADATA capability on (server and mailbox entries); nil, the
	// default, leaves it off (Dovecot's imap_metadata = no).
	Metadata Metadata
	// ACL, when set, keeps the access control lists of RFC 4314 and
	// turns on ACL (MYRIGHTS, GETACL, LISTRIGHTS, SETACL, DELETEACL)
	// and LIST-MYRIGHTS; LIST, SELECT, EXAMINE, STATUS, CREATE,
	// DELETE and RENAME then follow the owner's rights (see ACL).
	ACL ACL
	// URLAuth, when set, keeps the mailbox access keys of URLAUTH
	// (RFC 4467) and turns on GENURLAUTH, RESETKEY and URLFETCH.
	// URLAuthSubmitUser is the user the submission server logs in as
	// to fetch "submit+" URLs (Dovecot's imap_urlauth_submit_user;
	// "": none may).
	URLAuth           URLAuthKeys
	URLAuthSubmitUser string
	// Shared, when set, shows other users' mailboxes the user was given
	// rights on under a shared namespace (Dovecot's namespace { type =
	// shared }); it needs ACL. Nil, the default, has none.
	Shared *SharedNamespace
	// MetadataMaxSize bounds one METADATA value in bytes (0:
	// DefaultMetadataMaxSize); MetadataMaxEntries the entries of one
	// mailbox or of the server (0: DefaultMetadataMaxEntries).
	MetadataMaxSize    int64
	MetadataMaxEntries int
	// CompressLevel is the deflate level (1-9) of COMPRESS=DEFLATE
	// streams (0: DefaultCompressLevel). Higher levels save bandwidth
	// and cost CPU and some hundreds of KiB per compressing session.
	CompressLevel int
	// SortCacheMessages is how many messages' SORT and THREAD keys
	// (dates, base subjects, first addresses, Message-ID and References)
	// are kept in memory for all sessions, as Dovecot keeps sort data in
	// its index (0: DefaultSortCacheMessages; negative: no limit). Each
	// kept SORT or THREAD result counts its messages against the same
	// limit; mailboxes are evicted whole, least recently used first.
	SortCacheMessages int

	sortOnce  sync.Once
	sorts     *sortCache
	sessions  serve.Group
	prelogin  serve.AddrCounter // sessions not logged in, per address
	mu        sync.Mutex        // guards userIP
	userIP    map[string]int
	cacheOnce sync.Once
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) cache() *imapmsg.Cache {
	s.cacheOnce.Do(func() {
		if s.MessageCache == nil {
			s.MessageCache = imapmsg.NewCache(0)
		}
	})
	return s.MessageCache
}

func (s *Server) maxLine() int {
	if s.MaxLineLength > 0 {
		return s.MaxLineLength
	}
	return DefaultMaxLineLength
}

func (s *Server) appendLimit() int64 {
	switch {
	case s.AppendLimit > 0:
		return s.AppendLimit
	case s.AppendLimit < 0:
		return 1<<63 - 1
	}
	return DefaultAppendLimit
}

func durOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ListenAndServe listens on Addr (default ":143") and serves IMAP with
// STARTTLS when TLSConfig is set.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":143"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on Addr (default ":993") and serves IMAP over
// implicit TLS (RFC 8314) with TLSConfig, or with the certificate and key
// files given when TLSConfig has no certificate.
func (s *Server) ListenAndServeTLS(certFile, keyFile string) error {
	cfg := s.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	addr := s.Addr
	if addr == "" {
		addr = ":993"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(tls.NewListener(l, cfg))
}

// ServeTLS serves implicit-TLS IMAP on l with TLSConfig.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.TLSConfig == nil {
		return errors.New("imap: ServeTLS needs TLSConfig")
	}
	return s.Serve(tls.NewListener(l, s.TLSConfig))
}

// Serve accepts connections on l and serves each in its own goroutine.
// A listener from tls.NewListener gives implicit TLS. Serve returns
// ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	s.sessions.SetLogger(s.logger())
	err := s.sessions.Serve(l, func(nc net.Conn) {
		c := s.newConn(nc)
		others, ok := s.sessions.TrackCounting(c)
		if !ok {
			nc.Close()
			return
		}
		defer s.sessions.Untrack(c)
		if max := s.maxConnections(); max > 0 && others >= max {
			c.refuse("Maximum number of connections exceeded (process_limit=" + strconv.Itoa(max) + ").")
			return
		}
		if !s.prelogin.Acquire(nc.RemoteAddr(), s.loginPerIP()) {
			c.refuse("Too many connections from your IP address (login_max_connections_per_ip=" + strconv.Itoa(s.loginPerIP()) + ").")
			return
		}
		c.prelogin = true
		c.serve()
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

func (s *Server) maxMailboxes() int {
	if s.MaxMailboxes == 0 {
		return DefaultMaxMailboxes
	}
	return s.MaxMailboxes
}

// acquireUserIP counts a session of user from ip against
// MaxUserIPConnections; it returns false when the limit is reached.
func (s *Server) acquireUserIP(key string) bool {
	limit := s.MaxUserIPConnections
	if limit == 0 {
		limit = DefaultMaxUserIPConnections
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userIP == nil {
		s.userIP = make(map[string]int)
	}
	if limit > 0 && s.userIP[key] >= limit {
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

// Shutdown stops accepting connections, tells every session "* BYE
// Server shutting down." at its next safe moment (at once for idle and
// IDLEing sessions; after the running command otherwise), and waits for
// them to end or for ctx to be done, after which it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.sessions.Shutdown(ctx)
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	return s.sessions.Close()
}

// numConns reports the number of open connections.
func (s *Server) numConns() int {
	return s.sessions.Len()
}
