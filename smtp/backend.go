package smtp

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"
)

// ConnInfo describes a client connection. The server fills it in as the
// session goes on (Helo after EHLO, TLS after STARTTLS, AuthUser after
// AUTH); a Session may keep the pointer and read it in later calls.
type ConnInfo struct {
	LocalAddr  net.Addr
	RemoteAddr net.Addr
	// ClientName is the verified reverse name, or "unknown" (the server
	// does no reverse lookups, as smtpd_peername_lookup = no).
	ClientName string
	// Helo is the argument of the last HELO/EHLO.
	Helo string
	// ESMTP is true after EHLO, false after HELO.
	ESMTP bool
	// TLS is the connection's TLS state, nil without TLS.
	TLS *tls.ConnectionState
	// AuthUser is the SASL user name after a successful AUTH, else "".
	AuthUser string
	// AuthMechanism is the SASL mechanism used, else "".
	AuthMechanism string
	// Service is "smtp", "submission" or "submissions" (for logs and the
	// auth layer).
	Service string
}

// MailOptions are the parameters of MAIL FROM.
type MailOptions struct {
	// Size is the SIZE= declaration (RFC 1870), 0 when absent.
	Size int64
	// Body is "7BIT", "8BITMIME" or "BINARYMIME", "" when absent.
	Body string
	// UTF8 is set by the SMTPUTF8 parameter (RFC 6531).
	UTF8 bool
	// Ret is the DSN RET value as sent ("FULL" or "HDRS"), "" when absent.
	Ret string
	// EnvID is the DSN ENVID (xtext as sent).
	EnvID string
	// Auth is the AUTH= parameter (RFC 4954 5), as sent.
	Auth string
}

// RcptOptions are the parameters of RCPT TO.
type RcptOptions struct {
	// Notify is the DSN NOTIFY list ("SUCCESS,FAILURE"), "" when absent.
	Notify string
	// ORcpt is the DSN ORCPT value as sent ("rfc822;a@b").
	ORcpt string
}

// Recipient is one accepted RCPT TO.
type Recipient struct {
	Addr string
	Opts RcptOptions
}

// Envelope is a complete mail transaction handed to Session.Data.
type Envelope struct {
	// QueueID names the transaction in logs and the Received header.
	QueueID string
	// From is the reverse path, "" for the null sender <>.
	From     string
	MailOpts MailOptions
	To       []Recipient
	// Conn is the state of the connection when the data was accepted.
	Conn ConnInfo
	// Received is the time the data command started.
	Received time.Time
	// Chunked is true when the message came with BDAT.
	Chunked bool
	// Actions are the HOLD, REDIRECT and FILTER results of the
	// restrictions, for the Session to act on (those of header and body
	// checks are known once the message has been read to its end).
	Actions Actions
}

// Backend starts a Session for each connection. Returning an *Error
// refuses the connection with that reply (a plain error gives 421).
type Backend interface {
	NewSession(ctx context.Context, c *ConnInfo) (Session, error)
}

// BackendFunc adapts a function to Backend.
type BackendFunc func(ctx context.Context, c *ConnInfo) (Session, error)

// NewSession calls f.
func (f BackendFunc) NewSession(ctx context.Context, c *ConnInfo) (Session, error) { return f(ctx, c) }

// Session receives the mail transactions of one connection. Data gets
// the envelope and the message (with the server's Received header
// prepended) as a stream; only when it returns nil does the client get
// 250. Data must not return before it has stored the message durably or
// handed it to something that has. It may stop reading early and return
// an error; the server discards the rest.
//
// A Session may also implement MailChecker, RcptChecker, Resetter and
// io.Closer.
type Session interface {
	Data(ctx context.Context, env *Envelope, msg io.Reader) error
}

// MailChecker is implemented by Sessions that want to judge MAIL FROM.
type MailChecker interface {
	Mail(ctx context.Context, from string, opts *MailOptions) error
}

// RcptChecker is implemented by Sessions that want to judge each RCPT TO
// (after the Policy accepted it), for example to refuse unknown users.
type RcptChecker interface {
	Rcpt(ctx context.Context, to string, opts *RcptOptions) error
}

// Resetter is implemented by Sessions told about the end of a
// transaction (RSET, a new EHLO, the end of DATA).
type Resetter interface {
	Reset()
}

// DataFunc is a Backend and Session made of one function: every
// connection shares it. It suits programs that only hand accepted mail
// on (to a queue, LMTP or a store).
type DataFunc func(ctx context.Context, env *Envelope, msg io.Reader) error

// NewSession returns f itself.
func (f DataFunc) NewSession(context.Context, *ConnInfo) (Session, error) { return f, nil }

// Data calls f.
func (f DataFunc) Data(ctx context.Context, env *Envelope, msg io.Reader) error {
	return f(ctx, env, msg)
}
