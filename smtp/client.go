package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/yubinmail/yubin/internal/smtpwire"
)

// DefaultClientTimeout bounds each client operation when the context has
// no deadline.
const DefaultClientTimeout = 5 * time.Minute

// ChunkSize is the size of the BDAT chunks the client sends.
const ChunkSize = 256 << 10

// Client is an SMTP client connection (RFC 5321) with STARTTLS, AUTH,
// PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN and CHUNKING. Negative
// replies are returned as *Error. A Client is used by one goroutine.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	// Greeting is the server's 220 text.
	Greeting string
	// Timeout bounds each operation when the context has no deadline;
	// DefaultClientTimeout when zero.
	Timeout time.Duration

	host    string // the host name dialled, for TLS verification
	helo    string
	ext     Extensions
	extArgs map[string]string
	isTLS   bool
}

// Dial connects to addr ("host:port") and reads the greeting.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newClientHost(ctx, conn, addr, false)
}

// DialTLS connects to addr with implicit TLS (port 465) and reads the
// greeting. A nil config verifies the server against the host in addr.
func DialTLS(ctx context.Context, addr string, config *tls.Config) (*Client, error) {
	host, _, _ := net.SplitHostPort(addr)
	config = tlsFor(config, host)
	d := tls.Dialer{Config: config}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newClientHost(ctx, conn, addr, true)
}

// NewClient reads the greeting on an established connection.
func NewClient(ctx context.Context, conn net.Conn) (*Client, error) {
	_, isTLS := conn.(*tls.Conn)
	return newClientHost(ctx, conn, conn.RemoteAddr().String(), isTLS)
}

func newClientHost(ctx context.Context, conn net.Conn, addr string, isTLS bool) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn), host: host, isTLS: isTLS}
	c.deadline(ctx)
	rep, err := c.readReply()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if rep.Code != 220 {
		conn.Close()
		return nil, replyError(rep)
	}
	c.Greeting = rep.Text()
	return c, nil
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

func (c *Client) deadline(ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(orDur(c.Timeout, DefaultClientTimeout))
	}
	c.conn.SetDeadline(d)
}

func (c *Client) readReply() (*smtpwire.Reply, error) {
	return smtpwire.ReadReply(c.r, 4096)
}

func replyError(r *smtpwire.Reply) *Error {
	return &Error{Code: r.Code, Enhanced: ParseEnhanced(r.Enhanced), Message: r.Text()}
}

// cmd sends one command and reads its reply, returning *Error unless the
// code is the expected one.
func (c *Client) cmd(ctx context.Context, expect int, format string, args ...any) (*smtpwire.Reply, error) {
	c.deadline(ctx)
	fmt.Fprintf(c.w, format+"\r\n", args...)
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	rep, err := c.readReply()
	if err != nil {
		return nil, err
	}
	if rep.Code != expect {
		return rep, replyError(rep)
	}
	return rep, nil
}

// Hello sends EHLO (falling back to HELO when the server refuses it) and
// records the extensions offered.
func (c *Client) Hello(ctx context.Context, name string) error {
	if strings.ContainsAny(name, "\r\n ") || name == "" {
		return errors.New("smtp: invalid HELO name")
	}
	c.helo = name
	rep, err := c.cmd(ctx, 250, "EHLO %s", name)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code >= 500 {
			_, err = c.cmd(ctx, 250, "HELO %s", name)
			c.ext, c.extArgs = 0, nil
		}
		return err
	}
	c.ext, c.extArgs = 0, map[string]string{}
	for _, l := range rep.Lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		k = strings.ToUpper(k)
		c.extArgs[k] = v
		switch k {
		case "PIPELINING":
			c.ext |= ExtPipelining
		case "SIZE":
			c.ext |= ExtSize
		case "8BITMIME":
			c.ext |= Ext8BitMIME
		case "SMTPUTF8":
			c.ext |= ExtSMTPUTF8
		case "ENHANCEDSTATUSCODES":
			c.ext |= ExtEnhancedStatusCodes
		case "DSN":
			c.ext |= ExtDSN
		case "CHUNKING":
			c.ext |= ExtChunking
		case "BINARYMIME":
			c.ext |= ExtBinaryMIME
		case "STARTTLS":
			c.ext |= ExtStartTLS
		case "AUTH":
			c.ext |= ExtAuth
		}
	}
	return nil
}

// Extensions returns what the server offered in its EHLO reply.
func (c *Client) Extensions() Extensions { return c.ext }

// Extension returns the parameter of an offered extension ("SIZE" ->
// "10485760") and whether it was offered.
func (c *Client) Extension(name string) (string, bool) {
	v, ok := c.extArgs[strings.ToUpper(name)]
	return v, ok
}

// MaxMessageSize returns the server's SIZE limit, 0 when none.
func (c *Client) MaxMessageSize() int64 {
	n, _ := strconv.ParseInt(c.extArgs["SIZE"], 10, 64)
	return n
}

// TLS reports whether the connection is encrypted.
func (c *Client) TLS() bool { return c.isTLS }

// StartTLS upgrades the connection (RFC 3207) and repeats EHLO. A nil
// config verifies the server certificate against the dialled host.
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	if c.isTLS {
		return errors.New("smtp: TLS already active")
	}
	if _, err := c.cmd(ctx, 220, "STARTTLS"); err != nil {
		return err
	}
	tc := tls.Client(c.conn, tlsFor(config, c.host))
	if err := tc.HandshakeContext(ctx); err != nil {
		c.conn.Close()
		return err
	}
	c.conn, c.isTLS = tc, true
	c.r, c.w = bufio.NewReader(tc), bufio.NewWriter(tc)
	return c.Hello(ctx, c.helo)
}

// Auth authenticates with a SASL client mechanism (RFC 4954), sending
// the initial response with the command.
func (c *Client) Auth(ctx context.Context, a sasl.Client) error {
	mech, ir, err := a.Start()
	if err != nil {
		return err
	}
	line := "AUTH " + mech
	if ir != nil {
		line += " " + encodeIR(ir)
	}
	rep, err := c.cmd(ctx, 235, "%s", line)
	for i := 0; err != nil && rep != nil && rep.Code == 334 && i < 16; i++ {
		chal, derr := decodeB64(rep.Text())
		if derr != nil {
			c.cmd(ctx, 501, "*")
			return derr
		}
		resp, nerr := a.Next(chal)
		if nerr != nil {
			c.cmd(ctx, 501, "*")
			return nerr
		}
		rep, err = c.cmd(ctx, 235, "%s", encodeB64(resp))
	}
	return err
}

// Noop sends NOOP.
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.cmd(ctx, 250, "NOOP")
	return err
}

// Reset sends RSET.
func (c *Client) Reset(ctx context.Context) error {
	_, err := c.cmd(ctx, 250, "RSET")
	return err
}

// Quit sends QUIT and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.cmd(ctx, 221, "QUIT")
	c.conn.Close()
	return err
}

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

// SendResult is the outcome of a transaction.
type SendResult struct {
	// Rcpt holds, per recipient in order, nil when accepted or the
	// server's *Error.
	Rcpt []error
	// Reply is the text of the final 250 reply ("Ok: queued as ...").
	Reply string
}

// SendMail sends one message to the recipients: MAIL, RCPT, then DATA
// (or BDAT when the server offers CHUNKING), pipelined when the server
// offers PIPELINING. It fails when any recipient was refused or the
// message was not accepted.
func (c *Client) SendMail(ctx context.Context, from string, to []string, msg io.Reader) error {
	rcpts := make([]Recipient, len(to))
	for i, t := range to {
		rcpts[i].Addr = t
	}
	res, err := c.Send(ctx, from, rcpts, nil, msg)
	if err != nil {
		return err
	}
	for _, e := range res.Rcpt {
		if e != nil {
			return e
		}
	}
	return nil
}
