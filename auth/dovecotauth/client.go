package dovecotauth

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth"
)

// DefaultClientTimeout bounds the wait for each reply of the auth server
// (Dovecot may delay failures by auth_failure_delay).
const DefaultClientTimeout = 30 * time.Second

// Client authenticates against a running Dovecot (or any auth-client
// protocol server) through its auth-client UNIX socket. It implements
// auth.Authenticator, so protocol servers can use Dovecot's users. The
// connection is made on first use and re-made after errors; requests
// are multiplexed on it by id.
type Client struct {
	// Path of the auth-client socket, e.g. /run/dovecot/auth-client.
	Path string
	// AllowPlaintext offers plaintext mechanisms and Login on insecure
	// connections (the server may still refuse them).
	AllowPlaintext bool
	// Timeout bounds each wait for a reply; zero means DefaultClientTimeout.
	Timeout time.Duration
	// NoPenalty asks the server not to apply its per-IP penalty
	// ("no-penalty"), for callers that apply their own.
	NoPenalty bool
	// Logger receives connection errors; nil discards them.
	Logger *slog.Logger

	mu   sync.Mutex
	conn *clientSide
}

var _ auth.Authenticator = (*Client)(nil)

type mechInfo struct {
	name  string
	flags map[string]bool
}

type reply struct {
	cmd    string
	fields []string
}

// clientSide is one connection to the server.
type clientSide struct {
	c       net.Conn
	wmu     sync.Mutex
	w       *bufio.Writer
	mechs   []mechInfo
	mu      sync.Mutex
	pending map[uint64]chan reply
	nextID  uint64
	broken  bool
}

// Dial connects now and reads the server's handshake; using a Client
// without Dial connects lazily.
func (cl *Client) Dial(ctx context.Context) error {
	_, err := cl.get(ctx)
	return err
}

// Close closes the connection.
func (cl *Client) Close() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.conn != nil {
		cl.conn.c.Close()
		cl.conn = nil
	}
	return nil
}

func (cl *Client) get(ctx context.Context) (*clientSide, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.conn != nil {
		cl.conn.mu.Lock()
		broken := cl.conn.broken
		cl.conn.mu.Unlock()
		if !broken {
			return cl.conn, nil
		}
		cl.conn.c.Close()
		cl.conn = nil
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", cl.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrTempFail, err)
	}
	cs := &clientSide{c: c, w: bufio.NewWriter(c), pending: map[uint64]chan reply{}}
	fmt.Fprintf(cs.w, "VERSION\t1\t2\nCPID\t%d\n", os.Getpid())
	if err := cs.w.Flush(); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %v", auth.ErrTempFail, err)
	}
	c.SetReadDeadline(time.Now().Add(cl.timeout()))
	r := bufio.NewReaderSize(c, 4096)
	for {
		line, err := readLine(r, DefaultMaxLine)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("%w: handshake: %v", auth.ErrTempFail, err)
		}
		f := strings.Split(line, "\t")
		if f[0] == "VERSION" && (len(f) < 2 || f[1] != "1") {
			c.Close()
			return nil, fmt.Errorf("%w: server protocol version %s", auth.ErrTempFail, strings.Join(f[1:], "."))
		}
		if f[0] == "MECH" && len(f) >= 2 {
			m := mechInfo{name: strings.ToUpper(f[1]), flags: map[string]bool{}}
			for _, fl := range f[2:] {
				m.flags[fl] = true
			}
			cs.mechs = append(cs.mechs, m)
		}
		if f[0] == "DONE" {
			break
		}
	}
	c.SetReadDeadline(time.Time{})
	go cl.readLoop(cs, r)
	cl.conn = cs
	return cs, nil
}

func (cl *Client) timeout() time.Duration {
	if cl.Timeout > 0 {
		return cl.Timeout
	}
	return DefaultClientTimeout
}

// readLoop dispatches replies to their requests until the connection
// breaks; then every pending request gets an error.
func (cl *Client) readLoop(cs *clientSide, r *bufio.Reader) {
	for {
		line, err := readLine(r, DefaultMaxLine)
		if err != nil {
			break
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			continue
		}
		id, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			continue
		}
		cs.mu.Lock()
		ch := cs.pending[id]
		if f[0] != "CONT" {
			delete(cs.pending, id)
		}
		cs.mu.Unlock()
		if ch != nil {
			// One reply per step: a server that sends more for a
			// request (or answers one nobody waits for any more)
			// must not block the replies of every other request.
			select {
			case ch <- reply{cmd: f[0], fields: f[2:]}:
			default:
			}
		}
	}
	cs.mu.Lock()
	cs.broken = true
	for id, ch := range cs.pending {
		close(ch)
		delete(cs.pending, id)
	}
	cs.mu.Unlock()
	cs.c.Close()
}

func (cs *clientSide) send(line string) error {
	cs.wmu.Lock()
	defer cs.wmu.Unlock()
	cs.w.WriteString(line)
	cs.w.WriteByte('\n')
	return cs.w.Flush()
}

// PlaintextAllowed implements auth.Authenticator.
func (cl *Client) PlaintextAllowed(c *auth.ConnInfo) bool {
	return cl.AllowPlaintext || secured(c)
}

func secured(c *auth.ConnInfo) bool {
	if c == nil {
		return false
	}
	if c.TLS != nil {
		return true
	}
	if a, ok := c.RemoteAddr.(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return true
	}
	return false
}

// Mechanisms implements auth.Authenticator with the server's MECH list.
func (cl *Client) Mechanisms(c *auth.ConnInfo) []string {
	cs, err := cl.get(context.Background())
	if err != nil {
		if cl.Logger != nil {
			cl.Logger.Warn("dovecotauth: cannot reach auth server", "error", err)
		}
		return nil
	}
	var out []string
	for _, m := range cs.mechs {
		if m.flags["plaintext"] && !cl.PlaintextAllowed(c) {
			continue
		}
		out = append(out, m.name)
	}
	return out
}

// NewSASL implements auth.Authenticator: the exchange is relayed to the
// server.
func (cl *Client) NewSASL(ctx context.Context, mech string, c *auth.ConnInfo) (auth.SASLSession, error) {
	mech = strings.ToUpper(mech)
	cs, err := cl.get(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range cs.mechs {
		if m.name == mech {
			if m.flags["plaintext"] && !cl.PlaintextAllowed(c) {
				return nil, auth.ErrPlaintextNotAllowed
			}
			return &remoteSession{cl: cl, cs: cs, mech: mech, c: c}, nil
		}
	}
	return nil, auth.ErrUnsupportedMechanism
}

// Login implements auth.Authenticator with PLAIN.
func (cl *Client) Login(ctx context.Context, c *auth.ConnInfo, user, password string) (*auth.Identity, error) {
	if !cl.PlaintextAllowed(c) {
		return nil, auth.ErrPlaintextNotAllowed
	}
	ss, err := cl.NewSASL(ctx, "PLAIN", c)
	if err != nil {
		return nil, err
	}
	if strings.ContainsRune(user, 0) || strings.ContainsRune(password, 0) {
		return nil, auth.ErrAuthFailed
	}
	_, done, err := ss.Next(ctx, []byte("\x00"+user+"\x00"+password))
	if err != nil {
		return nil, err
	}
	if !done {
		// PLAIN with an initial response takes one step; a challenge
		// instead is not followed: end the request on both sides.
		if rs, ok := ss.(*remoteSession); ok {
			rs.cancel()
		}
		return nil, auth.ErrAuthFailed
	}
	return ss.Identity(), nil
}

// remoteSession relays one SASL exchange.
type remoteSession struct {
	cl    *Client
	cs    *clientSide
	mech  string
	c     *auth.ConnInfo
	id    uint64
	ch    chan reply
	done  bool
	ident *auth.Identity
}

func authParams(c *auth.ConnInfo, noPenalty bool) string {
	var b strings.Builder
	if noPenalty {
		b.WriteString("\tno-penalty")
	}
	svc := "smtp"
	if c != nil && c.Service != "" {
		svc = c.Service
	}
	b.WriteString("\tservice=" + escape(svc))
	if c != nil {
		if a, ok := c.LocalAddr.(*net.TCPAddr); ok {
			fmt.Fprintf(&b, "\tlip=%s\tlport=%d", a.IP, a.Port)
		}
		if a, ok := c.RemoteAddr.(*net.TCPAddr); ok {
			fmt.Fprintf(&b, "\trip=%s\trport=%d", a.IP, a.Port)
		}
		if secured(c) {
			b.WriteString("\tsecured")
		}
	}
	return b.String()
}

// Next implements auth.SASLSession.
func (rs *remoteSession) Next(ctx context.Context, resp []byte) ([]byte, bool, error) {
	auth.MayBlock(ctx) // the remote server's answer
	if rs.done {
		return nil, false, fmt.Errorf("%w: exchange already finished", auth.ErrMalformed)
	}
	var line string
	if rs.ch == nil {
		rs.cs.mu.Lock()
		rs.cs.nextID++
		rs.id = rs.cs.nextID
		rs.ch = make(chan reply, 1)
		rs.cs.pending[rs.id] = rs.ch
		rs.cs.mu.Unlock()
		line = fmt.Sprintf("AUTH\t%d\t%s%s", rs.id, rs.mech, authParams(rs.c, rs.cl.NoPenalty))
		if resp != nil {
			line += "\tresp=" + base64.StdEncoding.EncodeToString(resp)
		}
	} else {
		line = fmt.Sprintf("CONT\t%d\t%s", rs.id, base64.StdEncoding.EncodeToString(resp))
	}
	if err := rs.cs.send(line); err != nil {
		rs.done = true
		return nil, false, fmt.Errorf("%w: %v", auth.ErrTempFail, err)
	}
	t := time.NewTimer(rs.cl.timeout())
	defer t.Stop()
	select {
	case r, ok := <-rs.ch:
		if !ok {
			rs.done = true
			return nil, false, fmt.Errorf("%w: connection to auth server lost", auth.ErrTempFail)
		}
		return rs.handle(r)
	case <-ctx.Done():
		rs.cancel()
		return nil, false, ctx.Err()
	case <-t.C:
		rs.cancel()
		return nil, false, fmt.Errorf("%w: auth server timed out", auth.ErrTempFail)
	}
}

func (rs *remoteSession) cancel() {
	rs.done = true
	rs.cs.mu.Lock()
	delete(rs.cs.pending, rs.id)
	rs.cs.mu.Unlock()
	rs.cs.send(fmt.Sprintf("CANCEL\t%d", rs.id))
}

func (rs *remoteSession) handle(r reply) ([]byte, bool, error) {
	switch r.cmd {
	case "CONT":
		data := ""
		if len(r.fields) > 0 {
			data = r.fields[0]
		}
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			rs.cancel()
			return nil, false, fmt.Errorf("%w: bad base64 from auth server", auth.ErrTempFail)
		}
		return b, false, nil
	case "OK":
		rs.done = true
		p := params(r.fields)
		id := &auth.Identity{User: p["user"], Fields: map[string]string{}}
		var final []byte
		for k, v := range p {
			switch k {
			case "user":
			case "resp":
				final, _ = base64.StdEncoding.DecodeString(v)
			default:
				id.Fields[k] = v
			}
		}
		rs.ident = id
		return final, true, nil
	case "FAIL":
		rs.done = true
		p := params(r.fields)
		if _, temp := p["temp"]; temp {
			return nil, false, auth.ErrTempFail
		}
		if p["code"] == "invalid_base64" {
			return nil, false, auth.ErrMalformed
		}
		return nil, false, auth.ErrAuthFailed
	}
	rs.done = true
	return nil, false, fmt.Errorf("%w: unexpected reply %q", auth.ErrTempFail, r.cmd)
}

// Identity implements auth.SASLSession.
func (rs *remoteSession) Identity() *auth.Identity { return rs.ident }

// MasterClient looks users up through a Dovecot auth-userdb (or
// auth-master) socket; it implements auth.UserDB. Each lookup uses its
// own short connection.
type MasterClient struct {
	// Path of the socket, e.g. /run/dovecot/auth-userdb.
	Path string
	// Service is sent as service=; default "lmtp".
	Service string
	// Timeout bounds a lookup; zero means DefaultClientTimeout.
	Timeout time.Duration
}

var _ auth.UserDB = (*MasterClient)(nil)

// LookupUser implements auth.UserDB. The returned name is the one the
// server normalised to.
func (m *MasterClient) LookupUser(ctx context.Context, user string) (*auth.User, error) {
	if user == "" || strings.ContainsAny(user, "\t\n\x00\x01") {
		return nil, auth.ErrUnknownUser
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultClientTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", m.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrTempFail, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	svc := m.Service
	if svc == "" {
		svc = "lmtp"
	}
	if _, err := fmt.Fprintf(c, "VERSION\t1\t0\nUSER\t1\t%s\tservice=%s\n", user, escape(svc)); err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrTempFail, err)
	}
	r := bufio.NewReader(c)
	for {
		line, err := readLine(r, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", auth.ErrTempFail, err)
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 || f[1] != "1" {
			if f[0] == "VERSION" && (len(f) < 2 || f[1] != "1") {
				return nil, fmt.Errorf("%w: server protocol version", auth.ErrTempFail)
			}
			continue
		}
		switch f[0] {
		case "USER":
			if len(f) < 3 {
				return nil, fmt.Errorf("%w: short USER reply", auth.ErrTempFail)
			}
			return auth.NewUser(unescape(f[2]), params(f[3:]))
		case "NOTFOUND":
			return nil, auth.ErrUnknownUser
		case "FAIL":
			return nil, fmt.Errorf("%w: %s", auth.ErrTempFail, params(f[2:])["reason"])
		}
	}
}
