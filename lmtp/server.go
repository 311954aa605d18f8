package lmtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	"github.com/yubinmail/yubin/internal/serve"
)

// Defaults of the Server's limits.
const (
	DefaultMaxRecipients  = 1000
	DefaultMaxBadCommands = 10 // Dovecot's smtp-server max_bad_commands
	DefaultMaxMemorySpool = 1 << 20
	DefaultTimeout        = 300 * time.Second
)

// Server is an LMTP server (RFC 2033), the delivery side Postfix's
// lmtp client talks to (mailbox_transport = lmtp:unix:private/dovecot-lmtp
// or virtual_transport = lmtp:inet:host:port). Its zero value serves TCP
// with default limits and refuses every recipient until Deliverer is set.
// Fields must not change once serving.
type Server struct {
	// Network is "tcp" (default) or "unix"; Addr is the address or socket
	// path ListenAndServe uses ("127.0.0.1:24" when empty for TCP).
	Network string
	Addr    string
	// SocketMode is the unix socket's permission bits (default 0600, as
	// Dovecot's unix_listener lmtp { mode = 0600 }); SocketUser and
	// SocketGroup, when set, name its owner (user = postfix).
	SocketMode  os.FileMode
	SocketUser  string
	SocketGroup string

	// Hostname is used in the banner, the LHLO reply and Received;
	// os.Hostname() when empty.
	Hostname string
	// Banner is the greeting text; Hostname+" LMTP ready" when empty.
	Banner string
	// TLSConfig enables STARTTLS. Session tickets are turned off in the
	// server's copy.
	TLSConfig *tls.Config

	// Deliverer decides recipients and stores messages.
	Deliverer Deliverer
	// NoReceivedHeader stops the server from adding Received:; the
	// Return-Path: and Delivered-To: headers are always added.
	NoReceivedHeader bool

	// MaxLineLength limits command lines (default 1000, CRLF included).
	MaxLineLength int
	// MaxMessageBytes refuses larger messages with 552 5.3.4; 0 means
	// no limit.
	MaxMessageBytes int64
	// MaxRecipients limits RCPTs per transaction (default 1000).
	MaxRecipients int
	// MaxBadCommands is how many invalid commands (unknown, malformed,
	// too long) a session may send; the next one ends it with "421 4.7.0
	// <host> Too many invalid commands." as Dovecot's LMTP does (default
	// 10; < 0 means no limit).
	MaxBadCommands int
	// MaxMemorySpool is the size up to which a message is kept in memory
	// while it is delivered to each recipient; larger ones go to a
	// temporary file in SpoolDir (os.TempDir() when empty).
	MaxMemorySpool int64
	SpoolDir       string
	// ReadTimeout, DataTimeout and WriteTimeout bound each wait for a
	// command, for message content and for a write (default 300s each).
	ReadTimeout  time.Duration
	DataTimeout  time.Duration
	WriteTimeout time.Duration
	// TLSHandshakeTimeout bounds the STARTTLS handshake (default 30s).
	TLSHandshakeTimeout time.Duration

	// Logger receives log lines; nil discards them.
	Logger *slog.Logger
	// ConnState, when set, is called when a connection changes state:
	// accepted, closed. It must not block.
	ConnState func(c net.Conn, state ConnState)
	// CommandHook, when set, is called once for every client command,
	// on the session's goroutine, after its reply has been written (to
	// the session's buffer, which goes out before the server waits for
	// the next command): name is the verb in upper case ("RCPT"), always
	// one of the commands the server knows or "UNKNOWN", so it is safe
	// as a metric label; ok is true when the final reply was 2xx and no
	// reply of the command was 4xx or 5xx (after DATA or the last BDAT:
	// every recipient's reply was 2xx); took runs from the end of the
	// command line to the end of the reply, message content and
	// delivery included. It must not block. Nil, the default, costs
	// nothing.
	CommandHook func(name string, ok bool, took time.Duration)

	sessions serve.Group
	tlsOnce  sync.Once
	tlsConf  *tls.Config
}

func (s *Server) hostname() string {
	if s.Hostname != "" {
		return s.Hostname
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return discardLogger
}

var discardLogger = slog.New(slog.DiscardHandler)

// ConnState is a connection's state, reported to Server.ConnState.
type ConnState int

// Connection states.
const (
	StateNew    ConnState = iota // accepted, greeting not yet sent
	StateClosed                  // ended
)

func (s *Server) connState(c net.Conn, st ConnState) {
	if s.ConnState != nil {
		s.ConnState(c, st)
	}
}

func (s *Server) serverTLS() *tls.Config {
	s.tlsOnce.Do(func() {
		if s.TLSConfig != nil {
			s.tlsConf = s.TLSConfig.Clone()
			s.tlsConf.SessionTicketsDisabled = true
		}
	})
	return s.tlsConf
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// ListenAndServe listens on Network/Addr and serves. For a unix socket a
// stale socket file is removed first and the mode and owner are set.
func (s *Server) ListenAndServe() error {
	var l net.Listener
	var err error
	if s.Network == "unix" {
		l, err = ListenUnix(s.Addr, s.SocketMode, s.SocketUser, s.SocketGroup)
	} else {
		addr := s.Addr
		if addr == "" {
			addr = "127.0.0.1:24"
		}
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenUnix creates a unix socket listener at path with the given mode
// (0600 when zero) and, when owner or group are not empty, that owner.
// A socket file left by a server that is gone is replaced; one another
// server answers on is not (the error wraps serve.ErrSocketInUse).
func ListenUnix(path string, mode os.FileMode, owner, group string) (net.Listener, error) {
	l, err := serve.ListenUnix(path)
	if err != nil {
		return nil, err
	}
	if mode == 0 {
		mode = 0o600
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, err
	}
	uid, gid := -1, -1
	if owner != "" {
		u, err := user.Lookup(owner)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("lmtp: socket owner: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("lmtp: socket group: %w", err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if uid != -1 || gid != -1 {
		if err := os.Lchown(path, uid, gid); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// Serve accepts connections on l; it returns ErrServerClosed after
// Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	err := s.sessions.Serve(l, func(c net.Conn) {
		s.connState(c, StateNew)
		defer s.connState(c, StateClosed)
		ss := newSession(s, c)
		if !s.sessions.Track(ss) {
			ss.reply(421, "4.3.2", "Service shutting down")
			ss.w.Flush()
			c.Close()
			ss.release()
			return
		}
		defer s.sessions.Untrack(ss)
		ss.serve()
		ss.release()
	})
	if errors.Is(err, serve.ErrClosed) {
		return ErrServerClosed
	}
	return err
}

// closing reports whether Shutdown or Close has been called.
func (s *Server) closing() bool { return s.sessions.Closing() }

// Shutdown stops accepting, answers idle sessions with
// "421 4.3.2 Service shutting down", lets transactions in progress finish
// and waits for every session to end or ctx to expire (then closes them).
func (s *Server) Shutdown(ctx context.Context) error {
	return s.sessions.Shutdown(ctx)
}

// Close closes listeners and connections at once.
func (s *Server) Close() error {
	return s.sessions.Close()
}
