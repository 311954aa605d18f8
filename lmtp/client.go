package lmtp

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// Timeouts bound each phase of a client conversation, as Postfix's
// lmtp_connect_timeout, lmtp_lhlo_timeout, lmtp_mail_timeout,
// lmtp_rcpt_timeout, lmtp_data_init_timeout, lmtp_data_xfer_timeout,
// lmtp_data_done_timeout, lmtp_rset_timeout and lmtp_quit_timeout do (Helo
// is LHLO); a zero field means Client.Timeout. It is the same type as
// smtp.Timeouts.
type Timeouts = smtpwire.Timeouts

// MailOptions are the MAIL FROM parameters of a transaction, as
// smtp.MailOptions: Size, Body, UTF8 and the DSN Ret, EnvID (xtext) and
// Auth (xtext); each is sent only when the server offers its extension.
type MailOptions = smtpwire.MailOptions

// RcptOptions are a recipient's DSN parameters: Notify and ORcpt
// ("rfc822;" + xtext).
type RcptOptions = smtpwire.RcptOptions

// Recipient is one recipient of a transaction: an address (or a bare
// user name, which Dovecot's LMTP takes) and its DSN options.
type Recipient = smtpwire.Recipient

// SendResult is the outcome of a transaction: Rcpt holds, per
// recipient, nil when the message was delivered to it or its error;
// Replies the reply that decided each one; Reply the text of the first
// delivered recipient's reply.
type SendResult = smtpwire.SendResult

// Reply is a server reply as the client read it.
type Reply = smtpwire.Reply

// FieldError is the error for a value the client refuses to write (see
// smtp.FieldError; the same type).
type FieldError = smtpwire.FieldError

// Client is an LMTP client (RFC 2033): what an MTA needs to hand mail
// to an LMTP server such as Dovecot's, over TCP or a unix socket. It is
// the client engine smtp.Client uses, speaking LHLO and reading one
// reply per recipient after the data. It is used by one goroutine.
type Client struct {
	// Timeout bounds each phase whose Timeouts field is zero; 5 minutes
	// when zero. A context deadline that comes earlier wins.
	Timeout time.Duration
	// Timeouts are the per-phase limits.
	Timeouts Timeouts
	// Greeting is the server's 220 text.
	Greeting string

	e *smtpwire.Client
}

// Dialer makes Clients with options. The zero Dialer is what Dial uses.
type Dialer struct {
	// LocalAddr is the local address of a TCP connection; nil lets the
	// system choose.
	LocalAddr net.Addr
	// Timeout and Timeouts are copied to the Client; Timeouts.Connect
	// bounds the connect and Timeouts.Helo the greeting.
	Timeout  time.Duration
	Timeouts Timeouts
	// ServerName is the name StartTLS verifies the certificate against;
	// the host dialled when empty.
	ServerName string
}

// Dial connects to an LMTP server: network "tcp" (addr "host:port") or
// "unix" (addr a socket path), and reads the greeting.
func Dial(ctx context.Context, network, addr string) (*Client, error) {
	return (&Dialer{}).Dial(ctx, network, addr)
}

// NewClient reads the greeting on an established connection; host is
// the name StartTLS verifies the certificate against.
func NewClient(ctx context.Context, conn net.Conn, host string) (*Client, error) {
	return (&Dialer{ServerName: host}).NewClient(ctx, conn)
}

// Dial connects to an LMTP server: network "tcp" (addr "host:port") or
// "unix" (addr a socket path), and reads the greeting.
func (d *Dialer) Dial(ctx context.Context, network, addr string) (*Client, error) {
	nd := net.Dialer{Timeout: d.Timeouts.Connect, LocalAddr: d.LocalAddr}
	if nd.Timeout <= 0 {
		nd.Timeout = d.Timeout
	}
	if nd.Timeout <= 0 {
		nd.Timeout = smtpwire.DefaultTimeout
	}
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	host := addr
	if network != "unix" {
		if h, _, err := net.SplitHostPort(addr); err == nil {
			host = h
		}
	}
	if d.ServerName != "" {
		host = d.ServerName
	}
	return d.newClient(ctx, conn, host)
}

// NewClient reads the greeting on an established connection.
func (d *Dialer) NewClient(ctx context.Context, conn net.Conn) (*Client, error) {
	host := d.ServerName
	if host == "" {
		host, _, _ = net.SplitHostPort(conn.RemoteAddr().String())
	}
	return d.newClient(ctx, conn, host)
}

func (d *Dialer) newClient(ctx context.Context, conn net.Conn, host string) (*Client, error) {
	c := &Client{Timeout: d.Timeout, Timeouts: d.Timeouts, e: smtpwire.NewClient(conn, host, true)}
	if err := c.sync().Greet(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	c.Greeting = c.e.Greeting
	return c, nil
}

// sync hands the exported settings to the engine.
func (c *Client) sync() *smtpwire.Client {
	c.e.Timeout, c.e.Timeouts = c.Timeout, c.Timeouts
	return c.e
}

// Hello sends LHLO and records the extensions offered.
func (c *Client) Hello(ctx context.Context, name string) error { return c.sync().Hello(ctx, name) }

// Extension reports whether the server offered an extension and its
// parameter.
func (c *Client) Extension(name string) (string, bool) { return c.e.Ext(name) }

// Extensions returns the offered extensions: keyword to parameters.
func (c *Client) Extensions() map[string]string { return c.e.Extensions() }

// StartTLS upgrades the connection and repeats LHLO. A nil config
// verifies the server against the dialled host.
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	return c.sync().StartTLS(ctx, config)
}

// TLS reports whether the connection is encrypted.
func (c *Client) TLS() bool { return c.e.TLS() }

// ConnectionState returns the TLS state and true when the connection is
// encrypted.
func (c *Client) ConnectionState() (tls.ConnectionState, bool) { return c.e.ConnectionState() }

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.e.RemoteAddr() }

// LocalAddr returns the client's end of the connection.
func (c *Client) LocalAddr() net.Addr { return c.e.LocalAddr() }

// Send runs one transaction: MAIL (with BODY=8BITMIME when the server
// offers it), RCPT for each recipient and DATA (pipelined when offered),
// and returns, per recipient in order, nil for a delivered message or
// that recipient's error (*Error when refused at RCPT or after the data,
// *FieldError for an address the client would not send). err is set
// when the transaction failed as a whole; then a nil entry means err
// applies. msg's line endings are made CRLF and it is dot-stuffed.
func (c *Client) Send(ctx context.Context, from string, to []string, msg io.Reader) ([]error, error) {
	rcpts := make([]Recipient, len(to))
	for i, t := range to {
		rcpts[i].Addr = t
	}
	opts := &MailOptions{}
	if _, ok := c.e.Ext("8BITMIME"); ok {
		opts.Body = "8BITMIME"
	}
	res, err := c.SendOpts(ctx, from, rcpts, opts, msg)
	if res == nil {
		return nil, err
	}
	return res.Rcpt, err
}

// SendOpts is Send with the MAIL and RCPT parameters smtp.Client.Send
// takes (SIZE, BODY, SMTPUTF8, and the DSN RET, ENVID, NOTIFY and ORCPT
// when the server offers DSN), checked as smtp.Client.Send checks them.
// It returns per-recipient results in SendResult.Rcpt; the reply that
// decided each recipient is in SendResult.Replies.
func (c *Client) SendOpts(ctx context.Context, from string, to []Recipient, opts *MailOptions, msg io.Reader) (*SendResult, error) {
	return c.sync().Send(ctx, from, to, opts, msg)
}

// Reset sends RSET.
func (c *Client) Reset(ctx context.Context) error { return c.sync().Reset(ctx) }

// Noop sends NOOP.
func (c *Client) Noop(ctx context.Context) error { return c.sync().Noop(ctx) }

// Quit sends QUIT and closes the connection.
func (c *Client) Quit(ctx context.Context) error { return c.sync().Quit(ctx) }

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.e.Close() }
