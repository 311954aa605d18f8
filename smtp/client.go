package smtp

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/yubinmail/yubin/internal/smtpwire"
)

// DefaultClientTimeout bounds each client operation whose Timeouts field
// is zero, when the context has no earlier deadline.
const DefaultClientTimeout = smtpwire.DefaultTimeout

// ChunkSize is the size of the BDAT chunks the client sends.
const ChunkSize = smtpwire.DefaultChunkSize

// Timeouts bound each phase of a client conversation, as Postfix's
// smtp_connect_timeout, smtp_helo_timeout, smtp_mail_timeout,
// smtp_rcpt_timeout, smtp_data_init_timeout, smtp_data_xfer_timeout,
// smtp_data_done_timeout, smtp_rset_timeout and smtp_quit_timeout do;
// a zero field means Client.Timeout. PostfixTimeouts returns Postfix's
// defaults.
type Timeouts = smtpwire.Timeouts

// PostfixTimeouts returns the timeouts of Postfix's smtp(8) defaults.
func PostfixTimeouts() Timeouts { return smtpwire.PostfixTimeouts() }

// Reply is a server reply as the client read it: Code, Enhanced ("2.0.0"
// or "") and the text Lines.
type Reply = smtpwire.Reply

// FieldError is the error for a value the client refuses to write (an
// address, a parameter, the EHLO name, a SASL mechanism) because it does
// not fit the protocol's grammar; no CR, LF or NUL can ever reach the
// wire. errors.As finds its Reply (501 5.1.3 for a recipient, 501 5.1.7
// for the sender, 501 5.5.4 for a parameter) as *Error.
type FieldError = smtpwire.FieldError

// ErrInvalidField is wrapped by every FieldError.
var ErrInvalidField = smtpwire.ErrInvalidField

// EncodeXtext encodes a raw value as xtext (RFC 3461 4) for ENVID, the
// address of ORCPT ("rfc822;"+EncodeXtext(addr)) and AUTH=. The client
// sends those parameters as given and refuses invalid xtext.
func EncodeXtext(s string) string { return smtpwire.EncodeXtext(s) }

// Client is an SMTP client connection (RFC 5321) with STARTTLS, AUTH,
// PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN and CHUNKING, built on the
// client engine that lmtp.Client shares. Negative replies are returned
// as *Error; values that would break the protocol's grammar as
// *FieldError, before anything is written. A Client is used by one
// goroutine.
type Client struct {
	// Greeting is the server's 220 text.
	Greeting string
	// Timeout bounds each phase whose Timeouts field is zero;
	// DefaultClientTimeout when zero. A context deadline that comes
	// earlier wins.
	Timeout time.Duration
	// Timeouts are the per-phase limits (Postfix's smtp_*_timeout).
	Timeouts Timeouts

	e *smtpwire.Client
}

// Dialer makes Clients with options: the source address, the timeouts
// from the first byte on, and the server name for TLS verification. The
// zero Dialer is what Dial uses.
type Dialer struct {
	// LocalAddr is the local address to connect from (Postfix's
	// smtp_bind_address); nil lets the system choose.
	LocalAddr net.Addr
	// Timeout and Timeouts are copied to the Client; Timeouts.Connect
	// bounds the connect and Timeouts.Helo the greeting.
	Timeout  time.Duration
	Timeouts Timeouts
	// ServerName is the name the certificate is verified against; the
	// host part of the address dialled when empty.
	ServerName string
}

// Dial connects to addr ("host:port") and reads the greeting.
func Dial(ctx context.Context, addr string) (*Client, error) {
	return (&Dialer{}).Dial(ctx, addr)
}

// DialTLS connects to addr with implicit TLS (port 465) and reads the
// greeting. A nil config verifies the server against the host in addr.
func DialTLS(ctx context.Context, addr string, config *tls.Config) (*Client, error) {
	return (&Dialer{}).DialTLS(ctx, addr, config)
}

// NewClient reads the greeting on an established connection, for
// example one the caller dialled from a chosen source address. The
// server's certificate (for StartTLS) is verified against the remote IP
// address; use NewClientHost to name the host.
func NewClient(ctx context.Context, conn net.Conn) (*Client, error) {
	return (&Dialer{}).NewClient(ctx, conn)
}

// NewClientHost is NewClient with the server's host name, against which
// StartTLS verifies the certificate.
func NewClientHost(ctx context.Context, conn net.Conn, host string) (*Client, error) {
	return (&Dialer{ServerName: host}).NewClient(ctx, conn)
}

// Dial connects to addr ("host:port") and reads the greeting.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Client, error) {
	conn, err := d.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return d.newClient(ctx, conn, hostPart(addr))
}

// DialTLS connects to addr with implicit TLS (port 465) and reads the
// greeting. A nil config verifies the server against ServerName or the
// host in addr.
func (d *Dialer) DialTLS(ctx context.Context, addr string, config *tls.Config) (*Client, error) {
	host := d.ServerName
	if host == "" {
		host = hostPart(addr)
	}
	conn, err := d.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, tlsFor(config, host))
	hctx, cancel := context.WithTimeout(ctx, orDur(d.Timeouts.StartTLS, orDur(d.Timeout, DefaultClientTimeout)))
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, err
	}
	return d.newClient(ctx, tc, host)
}

// NewClient reads the greeting on an established connection.
func (d *Dialer) NewClient(ctx context.Context, conn net.Conn) (*Client, error) {
	return d.newClient(ctx, conn, hostPart(conn.RemoteAddr().String()))
}

func (d *Dialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: orDur(d.Timeouts.Connect, orDur(d.Timeout, DefaultClientTimeout)), LocalAddr: d.LocalAddr}
	return nd.DialContext(ctx, "tcp", addr)
}

func (d *Dialer) newClient(ctx context.Context, conn net.Conn, host string) (*Client, error) {
	if d.ServerName != "" {
		host = d.ServerName
	}
	c := &Client{Timeout: d.Timeout, Timeouts: d.Timeouts, e: smtpwire.NewClient(conn, host, false)}
	if err := c.sync().Greet(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	c.Greeting = c.e.Greeting
	return c, nil
}

// hostPart returns the host of "host:port" (addr itself without port).
func hostPart(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func tlsFor(config *tls.Config, host string) *tls.Config {
	if config == nil {
		config = &tls.Config{}
	} else {
		config = config.Clone()
	}
	if config.ServerName == "" && !config.InsecureSkipVerify {
		config.ServerName = host
	}
	return config
}

// sync hands the exported settings to the engine.
func (c *Client) sync() *smtpwire.Client {
	c.e.Timeout, c.e.Timeouts = c.Timeout, c.Timeouts
	return c.e
}

// Hello sends EHLO (falling back to HELO when the server refuses it with
// a 5xx) and records the extensions offered. name must be a domain or an
// address literal.
func (c *Client) Hello(ctx context.Context, name string) error {
	return c.sync().Hello(ctx, name)
}

// Extensions returns what the server offered in its EHLO reply.
func (c *Client) Extensions() Extensions {
	var x Extensions
	for k := range c.e.Extensions() {
		switch k {
		case "PIPELINING":
			x |= ExtPipelining
		case "SIZE":
			x |= ExtSize
		case "8BITMIME":
			x |= Ext8BitMIME
		case "SMTPUTF8":
			x |= ExtSMTPUTF8
		case "ENHANCEDSTATUSCODES":
			x |= ExtEnhancedStatusCodes
		case "DSN":
			x |= ExtDSN
		case "CHUNKING":
			x |= ExtChunking
		case "BINARYMIME":
			x |= ExtBinaryMIME
		case "STARTTLS":
			x |= ExtStartTLS
		case "AUTH":
			x |= ExtAuth
		case "VRFY":
			x |= ExtVRFYAdvertise
		}
	}
	return x
}

// Extension returns the parameter of an offered extension ("SIZE" ->
// "10485760") and whether it was offered.
func (c *Client) Extension(name string) (string, bool) { return c.e.Ext(name) }

// AuthMechanisms returns the SASL mechanisms the server offered.
func (c *Client) AuthMechanisms() []string { return c.e.AuthMechanisms() }

// MaxMessageSize returns the server's SIZE limit, 0 when none.
func (c *Client) MaxMessageSize() int64 {
	v, _ := c.e.Ext("SIZE")
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// TLS reports whether the connection is encrypted.
func (c *Client) TLS() bool { return c.e.TLS() }

// ConnectionState returns the TLS state (version, cipher suite, the
// server's certificates, whether they were verified) and true when the
// connection is encrypted, for logs and Received headers ("TLS
// connection established to ...: TLSv1.3 with cipher ...").
func (c *Client) ConnectionState() (tls.ConnectionState, bool) { return c.e.ConnectionState() }

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.e.RemoteAddr() }

// LocalAddr returns the client's end of the connection.
func (c *Client) LocalAddr() net.Addr { return c.e.LocalAddr() }

// StartTLS upgrades the connection (RFC 3207) and repeats EHLO. A nil
// config verifies the server certificate against the dialled host (or
// the one given to NewClientHost).
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	return c.sync().StartTLS(ctx, config)
}

// Auth authenticates with a SASL client mechanism (RFC 4954), sending
// the initial response with the command when it fits.
func (c *Client) Auth(ctx context.Context, a sasl.Client) error { return c.sync().Auth(ctx, a) }

// Noop sends NOOP.
func (c *Client) Noop(ctx context.Context) error { return c.sync().Noop(ctx) }

// Reset sends RSET.
func (c *Client) Reset(ctx context.Context) error { return c.sync().Reset(ctx) }

// Quit sends QUIT and closes the connection.
func (c *Client) Quit(ctx context.Context) error { return c.sync().Quit(ctx) }

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.e.Close() }
