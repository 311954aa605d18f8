package lmtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
)

// Client is an LMTP client (RFC 2033): what an MTA needs to hand mail
// to an LMTP server such as Dovecot's, over TCP or a unix socket. It is
// used by one goroutine.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	host    string
	lhlo    string
	exts    map[string]string
	Timeout time.Duration // per operation when ctx has no deadline; 5m when zero
	// Greeting is the server's 220 text.
	Greeting string
}

// Dial connects to an LMTP server: network "tcp" (addr "host:port") or
// "unix" (addr a socket path), and reads the greeting.
func Dial(ctx context.Context, network, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	host := addr
	if network != "unix" {
		host, _, _ = net.SplitHostPort(addr)
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn), host: host}
	c.deadline(ctx)
	rep, err := smtpwire.ReadReply(c.r, 4096)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if rep.Code != 220 {
		conn.Close()
		return nil, toError(rep)
	}
	c.Greeting = rep.Text()
	return c, nil
}

func (c *Client) deadline(ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok {
		t := c.Timeout
		if t <= 0 {
			t = 5 * time.Minute
		}
		d = time.Now().Add(t)
	}
	c.conn.SetDeadline(d)
}

func toError(r *smtpwire.Reply) *Error {
	return &Error{Code: r.Code, Enhanced: r.Enhanced, Message: r.Text()}
}

func (c *Client) cmd(ctx context.Context, expect int, line string) (*smtpwire.Reply, error) {
	if strings.ContainsAny(line, "\r\n") {
		return nil, errors.New("lmtp: CR or LF in command")
	}
	c.deadline(ctx)
	c.w.WriteString(line + "\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	rep, err := smtpwire.ReadReply(c.r, 4096)
	if err != nil {
		return nil, err
	}
	if rep.Code != expect {
		return rep, toError(rep)
	}
	return rep, nil
}

// Hello sends LHLO and records the extensions offered.
func (c *Client) Hello(ctx context.Context, name string) error {
	rep, err := c.cmd(ctx, 250, "LHLO "+name)
	if err != nil {
		return err
	}
	c.lhlo = name
	c.exts = map[string]string{}
	for _, l := range rep.Lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		c.exts[strings.ToUpper(k)] = v
	}
	return nil
}

// Extension reports whether the server offered an extension and its
// parameter.
func (c *Client) Extension(name string) (string, bool) {
	v, ok := c.exts[strings.ToUpper(name)]
	return v, ok
}

// StartTLS upgrades the connection and repeats LHLO. A nil config
// verifies the server against the dialled host.
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	if _, err := c.cmd(ctx, 220, "STARTTLS"); err != nil {
		return err
	}
	if config == nil {
		config = &tls.Config{ServerName: c.host}
	}
	tc := tls.Client(c.conn, config)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.conn.Close()
		return err
	}
	c.conn = tc
	c.r, c.w = bufio.NewReader(tc), bufio.NewWriter(tc)
	return c.Hello(ctx, c.lhlo)
}

// Send runs one transaction: MAIL, RCPT for each recipient and DATA
// (pipelined when offered), and returns, per recipient in order, nil for
// a delivered message or that recipient's *Error (refused at RCPT or
// after the data). err is set when the transaction failed as a whole.
// msg is dot-stuffed with bare LFs turned into CRLF.
func (c *Client) Send(ctx context.Context, from string, to []string, msg io.Reader) ([]error, error) {
	if strings.ContainsAny(from, "\r\n<>") {
		return nil, errors.New("lmtp: invalid sender")
	}
	c.deadline(ctx)
	_, pipelining := c.exts["PIPELINING"]
	mail := "MAIL FROM:<" + from + ">"
	if _, ok := c.exts["8BITMIME"]; ok {
		mail += " BODY=8BITMIME"
	}
	if !smtpwire.IsASCII(from) || !allASCII(to) {
		mail += " SMTPUTF8"
	}
	lines := []string{mail}
	for _, r := range to {
		if strings.ContainsAny(r, "\r\n<>") || r == "" {
			return nil, errors.New("lmtp: invalid recipient")
		}
		lines = append(lines, "RCPT TO:<"+r+">")
	}
	lines = append(lines, "DATA")
	res := make([]error, len(to))
	accepted := 0
	var replies []*smtpwire.Reply
	for i, l := range lines {
		c.w.WriteString(l + "\r\n")
		if pipelining && i < len(lines)-1 {
			continue
		}
		if err := c.w.Flush(); err != nil {
			return nil, err
		}
		n := 1
		if pipelining {
			n = len(lines)
		}
		for j := 0; j < n; j++ {
			rep, err := smtpwire.ReadReply(c.r, 4096)
			if err != nil {
				return nil, err
			}
			replies = append(replies, rep)
		}
		if !pipelining && i == 0 && replies[0].Code != 250 {
			return nil, toError(replies[0])
		}
		if !pipelining && i == len(lines)-2 {
			// Do not send DATA without an accepted recipient.
			ok := false
			for _, r := range replies[1:] {
				ok = ok || r.Code == 250 || r.Code == 251
			}
			if !ok {
				break
			}
		}
	}
	if replies[0].Code != 250 {
		return nil, toError(replies[0])
	}
	var rcptOK []int
	for i := range to {
		r := replies[1+i]
		if r.Code == 250 || r.Code == 251 {
			accepted++
			rcptOK = append(rcptOK, i)
		} else {
			res[i] = toError(r)
		}
	}
	if len(replies) < len(lines) {
		c.cmd(ctx, 250, "RSET")
		return res, &Error{Code: 554, Enhanced: "5.5.1", Message: "no valid recipients"}
	}
	data := replies[len(lines)-1]
	if data.Code != 354 {
		if accepted > 0 {
			c.cmd(ctx, 250, "RSET")
		}
		if accepted == 0 {
			return res, &Error{Code: 554, Enhanced: "5.5.1", Message: "no valid recipients"}
		}
		return res, toError(data)
	}
	d := smtpwire.NewDotWriter(c.w)
	if _, err := io.Copy(d, msg); err != nil {
		c.conn.Close()
		return nil, err
	}
	d.Close()
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	// One reply per accepted recipient (RFC 2033 4.2).
	for _, i := range rcptOK {
		rep, err := smtpwire.ReadReply(c.r, 4096)
		if err != nil {
			return nil, err
		}
		if rep.Code != 250 {
			res[i] = toError(rep)
		}
	}
	return res, nil
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !smtpwire.IsASCII(s) {
			return false
		}
	}
	return true
}

// Quit sends QUIT and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.cmd(ctx, 221, "QUIT")
	c.conn.Close()
	return err
}

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }
