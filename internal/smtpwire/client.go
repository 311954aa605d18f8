package smtpwire

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultMaxReplyLineLength bounds a reply line the client reads
// (RFC 5321 4.5.3.1.5 says 512 octets; servers send longer text, and
// SASL challenges need room).
const DefaultMaxReplyLineLength = 4096

// ErrClientClosed is returned by a Client whose connection was closed,
// by Quit, Close or an earlier I/O error or timeout.
var ErrClientClosed = errors.New("connection closed")

// Client is the one SMTP/LMTP client engine: smtp.Client, lmtp.Client
// and the queue's transports are thin layers over it. It reads the
// greeting, says EHLO (HELO when refused) or LHLO, parses the offered
// extensions, upgrades with STARTTLS, authenticates with SASL and runs
// mail transactions (Send) with PIPELINING, CHUNKING, SIZE, 8BITMIME,
// SMTPUTF8 and DSN. Every field it writes is checked first (see
// FieldError), so no caller value can inject a command.
//
// Every operation takes a context; its deadline and cancellation bound
// the operation together with the phase's timeout in Timeouts. After an
// I/O error, a timeout, a malformed reply or a 421 the connection is
// closed and every later call fails.
//
// A Client is used by one goroutine at a time.
type Client struct {
	// LMTP selects RFC 2033: LHLO instead of EHLO, no HELO fallback, and
	// one reply per accepted recipient after the data.
	LMTP bool
	// ServerName is the name the server's TLS certificate is verified
	// against when StartTLS gets no ServerName in its config.
	ServerName string
	// Timeout is the limit of each phase whose Timeouts field is zero;
	// DefaultTimeout when zero.
	Timeout time.Duration
	// Timeouts are the per-phase limits.
	Timeouts Timeouts
	// MaxReplyLineLength bounds each reply line;
	// DefaultMaxReplyLineLength when zero. A reply has at most
	// MaxReplyLines lines.
	MaxReplyLineLength int
	// ChunkSize is the size of the BDAT chunks; 256 KiB when zero.
	ChunkSize int
	// Greeting is the text of the server's 220 greeting (Greet sets it).
	Greeting string

	raw    net.Conn // the connection as given, for deadlines
	conn   net.Conn // raw, or the TLS connection over it
	r      *bufio.Reader
	w      *bufio.Writer
	proto  string // "smtp" or "lmtp", for error texts
	helo   string
	ext    map[string]string
	broken error

	opDeadline time.Time     // the context's deadline during an operation
	xfer       time.Duration // when set, each write re-arms the write deadline
	stop       func() bool   // stops the operation's context watch
	stopped    chan struct{} // closed when the context watch has run
}

// NewClient returns a Client on an established connection (the caller
// dialled it, perhaps from a chosen source address); serverName is the
// name for TLS verification. Call Greet next.
func NewClient(conn net.Conn, serverName string, lmtp bool) *Client {
	c := &Client{LMTP: lmtp, ServerName: serverName, raw: conn, conn: conn, proto: "smtp"}
	if lmtp {
		c.proto = "lmtp"
	}
	c.r = bufio.NewReader(connReader{c})
	c.w = bufio.NewWriterSize(connWriter{c}, 16<<10)
	return c
}

// connReader and connWriter read and write the current connection
// (plain, then TLS after STARTTLS); connWriter re-arms the write deadline
// before each write while content is being sent.
type connReader struct{ c *Client }

func (r connReader) Read(p []byte) (int, error) { return r.c.conn.Read(p) }

type connWriter struct{ c *Client }

func (w connWriter) Write(p []byte) (int, error) {
	c := w.c
	if c.xfer > 0 {
		d := time.Now().Add(c.xfer)
		if !c.opDeadline.IsZero() && c.opDeadline.Before(d) {
			d = c.opDeadline
		}
		c.raw.SetWriteDeadline(d)
	}
	return c.conn.Write(p)
}

// Dial connects to addr on network ("tcp", "unix") within the Connect
// timeout (or timeout when that is zero, DefaultTimeout when both are)
// and the context's deadline.
func Dial(ctx context.Context, network, addr string, t Timeouts, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: orTimeout(t.Connect, timeout)}
	return d.DialContext(ctx, network, addr)
}

func orTimeout(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	if fallback > 0 {
		return fallback
	}
	return DefaultTimeout
}

// begin starts an operation: it fails when the client is closed or ctx
// done, and otherwise makes ctx's cancellation fail the pending I/O.
func (c *Client) begin(ctx context.Context) error {
	if c.broken != nil {
		return c.broken
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.opDeadline, _ = ctx.Deadline()
	stopped := make(chan struct{})
	raw := c.raw
	c.stop = context.AfterFunc(ctx, func() {
		raw.SetDeadline(time.Unix(1, 0))
		close(stopped)
	})
	c.stopped = stopped
	return nil
}

// end ends an operation; after it no context watch touches the
// connection any more.
func (c *Client) end() {
	if c.stop != nil && !c.stop() {
		<-c.stopped
	}
	c.stop, c.stopped, c.xfer = nil, nil, 0
}

// arm sets the connection's deadline for a phase with timeout d (zero:
// c.Timeout), capped by the context's deadline.
func (c *Client) arm(ctx context.Context, d time.Duration) error {
	dl := time.Now().Add(orTimeout(d, c.Timeout))
	if !c.opDeadline.IsZero() && c.opDeadline.Before(dl) {
		dl = c.opDeadline
	}
	c.raw.SetDeadline(dl)
	// A context cancelled before the deadline was set must still win.
	if err := ctx.Err(); err != nil {
		c.raw.SetDeadline(time.Unix(1, 0))
		return err
	}
	return nil
}

// fail closes the connection after an I/O error, a timeout or a reply
// out of step, and returns err explained by what was being done.
func (c *Client) fail(ctx context.Context, what string, err error) error {
	if c.broken == nil {
		c.conn.Close()
		c.broken = fmt.Errorf("%s: %w", c.proto, ErrClientClosed)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %s: %w (%w)", c.proto, what, cerr, err)
	}
	return fmt.Errorf("%s: %s: %w", c.proto, what, err)
}

// writeLine buffers one command line. It is the last guard against
// injection: a line with a CR, LF or NUL is never written.
func (c *Client) writeLine(line string) error {
	if err := checkLine(line); err != nil {
		return err
	}
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	return nil
}

// checkLine refuses a command line with a CR, LF or NUL.
func checkLine(line string) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		return &FieldError{Field: "command", Value: line, Reason: "CR, LF or NUL in a command line"}
	}
	return nil
}

// flush writes the buffered commands within timeout d.
func (c *Client) flush(ctx context.Context, d time.Duration, what string) error {
	if c.broken != nil {
		return c.broken
	}
	if err := c.arm(ctx, d); err != nil {
		return c.fail(ctx, what, err)
	}
	if err := c.w.Flush(); err != nil {
		return c.fail(ctx, what, err)
	}
	return nil
}

// read reads one reply within timeout d. A 421 closes the connection
// (RFC 5321 3.8) and is returned as *Error with the reply.
func (c *Client) read(ctx context.Context, d time.Duration, what string) (*Reply, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if err := c.arm(ctx, d); err != nil {
		return nil, c.fail(ctx, what, err)
	}
	rep, err := ReadReply(c.r, orInt(c.MaxReplyLineLength, DefaultMaxReplyLineLength))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("connection closed by server")
		}
		return nil, c.fail(ctx, what, err)
	}
	if rep.Code == 421 && c.broken == nil {
		// The server is closing the connection (RFC 5321 3.8); later
		// calls get its reply.
		c.conn.Close()
		c.broken = fmt.Errorf("%s: %w: %w", c.proto, ErrClientClosed, ReplyError(rep))
	}
	return rep, nil
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// cmd writes one command and reads its reply within timeout d; a reply
// of another class than want (2 or 3) is returned as *Error along with
// the reply.
func (c *Client) cmd(ctx context.Context, d time.Duration, want int, line string) (*Reply, error) {
	if err := c.writeLine(line); err != nil {
		return nil, err
	}
	what := "sending " + verbOf(line)
	if err := c.flush(ctx, d, what); err != nil {
		return nil, err
	}
	rep, err := c.read(ctx, d, "reading the reply to "+verbOf(line))
	if err != nil {
		return nil, err
	}
	if rep.Code/100 != want {
		return rep, ReplyError(rep)
	}
	return rep, nil
}

// verbOf returns the command of line for error texts ("MAIL FROM").
func verbOf(line string) string {
	if v, _, ok := strings.Cut(line, ":"); ok && len(v) <= 9 {
		return v
	}
	v, _, _ := strings.Cut(line, " ")
	return v
}

// Greet reads the server's greeting (within Timeouts.Helo) and returns
// it as *Error unless it is a 220.
func (c *Client) Greet(ctx context.Context) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	rep, err := c.read(ctx, c.Timeouts.Helo, "reading the greeting")
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		c.fail(ctx, "greeting", errors.New("refused"))
		return ReplyError(rep)
	}
	c.Greeting = rep.Text()
	return nil
}

// Hello sends EHLO (LMTP: LHLO) with name and records the extensions
// offered. An SMTP server that refuses EHLO with a 5xx gets HELO, and
// the client then uses no extension.
func (c *Client) Hello(ctx context.Context, name string) error {
	if err := CheckHeloName(name); err != nil {
		return err
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	return c.hello(ctx, name)
}

func (c *Client) hello(ctx context.Context, name string) error {
	verb := "EHLO "
	if c.LMTP {
		verb = "LHLO "
	}
	rep, err := c.cmd(ctx, c.Timeouts.Helo, 2, verb+name)
	if err != nil {
		var e *Error
		if c.LMTP || !errors.As(err, &e) || e.Code < 500 || c.broken != nil {
			return err
		}
		if _, err := c.cmd(ctx, c.Timeouts.Helo, 2, "HELO "+name); err != nil {
			return err
		}
		c.helo, c.ext = name, map[string]string{}
		return nil
	}
	c.helo, c.ext = name, ParseExtensions(rep.Lines[1:])
	return nil
}

// ParseExtensions reads the lines of an EHLO/LHLO reply after the first
// (RFC 5321 4.1.1.1): a keyword and its space-separated parameters per
// line. Keywords are upper-cased; lines that are not "keyword[ params]"
// are skipped. The old "AUTH=PLAIN LOGIN" form counts as AUTH when there
// is no AUTH line.
func ParseExtensions(lines []string) map[string]string {
	ext := make(map[string]string, len(lines))
	var oldAuth string
	hasOldAuth := false
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		kw := strings.ToUpper(f[0])
		args := strings.Join(f[1:], " ")
		if a, ok := strings.CutPrefix(kw, "AUTH="); ok {
			oldAuth, hasOldAuth = strings.TrimSpace(a+" "+args), true
			continue
		}
		if !validKeyword(kw) {
			continue
		}
		ext[kw] = args
	}
	if _, ok := ext["AUTH"]; !ok && hasOldAuth {
		ext["AUTH"] = oldAuth
	}
	return ext
}

// validKeyword: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
func validKeyword(k string) bool {
	if k == "" || k[0] == '-' || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isAlnum(k[i]) && k[i] != '-' {
			return false
		}
	}
	return true
}

// Extensions returns the offered extensions: keyword (upper case) to its
// parameters ("SIZE" -> "10485760", "PIPELINING" -> ""). It is empty
// before Hello and after HELO.
func (c *Client) Extensions() map[string]string {
	m := make(map[string]string, len(c.ext))
	for k, v := range c.ext {
		m[k] = v
	}
	return m
}

// Ext returns the parameters of an offered extension and whether it was
// offered.
func (c *Client) Ext(name string) (string, bool) {
	v, ok := c.ext[strings.ToUpper(name)]
	return v, ok
}

// AuthMechanisms returns the SASL mechanisms the server offered.
func (c *Client) AuthMechanisms() []string {
	return strings.Fields(strings.ToUpper(c.ext["AUTH"]))
}

// HeloName returns the name given to Hello.
func (c *Client) HeloName() string { return c.helo }

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// LocalAddr returns the client's end of the connection.
func (c *Client) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// ConnectionState returns the TLS state and true when the connection is
// encrypted (STARTTLS done, or the connection given was a *tls.Conn).
func (c *Client) ConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := c.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// TLS reports whether the connection is encrypted.
func (c *Client) TLS() bool {
	_, ok := c.conn.(*tls.Conn)
	return ok
}

// StartTLS sends STARTTLS (RFC 3207), does the handshake and repeats
// EHLO/LHLO with the earlier name. A nil config verifies the server's
// certificate against ServerName; a config without ServerName gets it.
// A server that sends anything after its 220 before the handshake is
// refused (the STARTTLS response injection of CVE-2011-0411).
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	if c.TLS() {
		return fmt.Errorf("%s: TLS already active", c.proto)
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	if _, err := c.cmd(ctx, c.Timeouts.StartTLS, 2, "STARTTLS"); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		return c.fail(ctx, "STARTTLS", errors.New("server sent data before the TLS handshake"))
	}
	if config == nil {
		config = &tls.Config{}
	} else {
		config = config.Clone()
	}
	if config.ServerName == "" && !config.InsecureSkipVerify {
		config.ServerName = c.ServerName
	}
	if err := c.arm(ctx, c.Timeouts.StartTLS); err != nil {
		return c.fail(ctx, "TLS handshake", err)
	}
	tc := tls.Client(c.raw, config)
	if err := tc.HandshakeContext(ctx); err != nil {
		return c.fail(ctx, "TLS handshake", err)
	}
	c.conn = tc
	c.r.Reset(connReader{c})
	c.w.Reset(connWriter{c})
	c.ext = nil
	if c.helo == "" {
		return nil
	}
	return c.hello(ctx, c.helo)
}

// Noop sends NOOP.
func (c *Client) Noop(ctx context.Context) error { return c.simple(ctx, c.Timeouts.Rset, "NOOP", 2) }

// Reset sends RSET.
func (c *Client) Reset(ctx context.Context) error { return c.simple(ctx, c.Timeouts.Rset, "RSET", 2) }

// Quit sends QUIT, reads the reply and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	err := c.simple(ctx, c.Timeouts.Quit, "QUIT", 2)
	c.Close()
	return err
}

func (c *Client) simple(ctx context.Context, d time.Duration, line string, want int) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	_, err := c.cmd(ctx, d, want, line)
	return err
}

// Close closes the connection without QUIT.
func (c *Client) Close() error {
	if c.broken != nil {
		return nil
	}
	c.broken = fmt.Errorf("%s: %w", c.proto, ErrClientClosed)
	return c.conn.Close()
}
