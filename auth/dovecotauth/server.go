package dovecotauth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/auth"
)

// Defaults of Server fields.
const (
	DefaultMaxLine     = 16384
	DefaultMaxRequests = 64
	DefaultStepTimeout = time.Minute
)

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = errors.New("dovecotauth: server closed")

// Server speaks Dovecot's auth-client protocol (for Postfix's
// smtpd_sasl_type = dovecot and Dovecot login processes) and, through
// ServeMaster, the auth-master/auth-userdb protocol (for LMTP, LDA,
// doveadm), on top of an auth.Authenticator and an auth.UserDB.
type Server struct {
	// Authenticator authenticates AUTH requests. Required for Serve.
	Authenticator auth.Authenticator
	// UserDB answers USER requests on the master protocol.
	UserDB auth.UserDB
	// PassDB answers PASS requests on the master protocol when it
	// implements auth.PassLookup.
	PassDB auth.PassDB
	// Normalize, when set, maps user names of USER requests, like
	// auth_username_format (use (*auth.Service).Normalize).
	Normalize func(c *auth.ConnInfo, user string) (string, error)
	// MaxLine is the longest protocol line; zero means DefaultMaxLine.
	MaxLine int
	// MaxRequests bounds concurrent requests per connection; zero means
	// DefaultMaxRequests.
	MaxRequests int
	// StepTimeout is how long a request waits for the client's next CONT;
	// zero means DefaultStepTimeout.
	StepTimeout time.Duration
	// Logger receives protocol errors; nil discards them.
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
	cuid      atomic.Uint64
	workers   workers
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) maxLine() int {
	if s.MaxLine > 0 {
		return s.MaxLine
	}
	return DefaultMaxLine
}

// Serve accepts auth-client connections on l until Close.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, s.handleClient) }

// ServeMaster accepts auth-master (auth-userdb) connections on l.
func (s *Server) ServeMaster(l net.Listener) error { return s.serve(l, s.handleMaster) }

func (s *Server) serve(l net.Listener, handle func(net.Conn)) error {
	if !s.track(l, nil, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.track(l, nil, false)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.track(nil, c, true) {
			c.Close()
			return ErrServerClosed
		}
		go func() {
			defer s.track(nil, c, false)
			defer c.Close()
			handle(c)
		}()
	}
}

// track adds or removes a listener or connection; false once closed.
func (s *Server) track(l net.Listener, c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add && s.closed {
		return false
	}
	if s.listeners == nil {
		s.listeners, s.conns = map[net.Listener]struct{}{}, map[net.Conn]struct{}{}
	}
	switch {
	case l != nil && add:
		s.listeners[l] = struct{}{}
	case l != nil:
		delete(s.listeners, l)
	case add:
		s.conns[c] = struct{}{}
		s.wg.Add(1)
	default:
		delete(s.conns, c)
		s.wg.Done()
	}
	return true
}

// Close closes the listeners and all connections.
func (s *Server) Close() error {
	s.workers.stop()
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	return nil
}

// Shutdown stops accepting and waits for connections to finish until ctx
// ends, then closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.workers.stop()
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// mechFlags returns the MECH flags Dovecot announces for a mechanism.
func mechFlags(m string) string {
	switch {
	case m == "PLAIN" || m == "LOGIN" || m == "XOAUTH2" || m == "OAUTHBEARER":
		return "\tplaintext"
	case m == "CRAM-MD5":
		return "\tdictionary\tactive"
	case strings.HasPrefix(m, "SCRAM-"):
		return "\tmutual-auth"
	case m == "ANONYMOUS":
		return "\tanonymous"
	}
	return ""
}

// advertised returns the mechanisms offered on the auth-client socket:
// all enabled ones usable on a secured connection, minus channel-bound
// and certificate ones, which need the TLS session itself.
func (s *Server) advertised() []string {
	c := &auth.ConnInfo{TLS: &tls.ConnectionState{HandshakeComplete: true},
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	var out []string
	for _, m := range s.Authenticator.Mechanisms(c) {
		if !strings.HasSuffix(m, "-PLUS") && m != "EXTERNAL" {
			out = append(out, m)
		}
	}
	return out
}

// clientConn is one auth-client connection.
type clientConn struct {
	s   *Server
	c   net.Conn
	wmu sync.Mutex
	w   *bufio.Writer
	// writers counts the replies being written or waiting for wmu: the
	// last one flushes, so that replies finishing together go out in
	// one write, as Dovecot's corked output does.
	writers atomic.Int32
	mechs   map[string]bool
	mu      sync.Mutex
	reqs    map[uint64]*request
}

// request is one AUTH in progress.
type request struct {
	cont   chan []byte // made at the first CONT either way, under mu
	cancel context.CancelFunc
}

// contChan returns rq's CONT channel, made at first use: most requests
// (PLAIN with an initial response) never need one.
func (cc *clientConn) contChan(rq *request) chan []byte {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if rq.cont == nil {
		rq.cont = make(chan []byte, 1)
	}
	return rq.cont
}

// lock takes the writer; unlock flushes unless another reply waits.
func (cc *clientConn) lock() {
	cc.writers.Add(1)
	cc.wmu.Lock()
}

func (cc *clientConn) unlock() {
	if cc.writers.Add(-1) == 0 {
		cc.w.Flush()
	}
	cc.wmu.Unlock()
}

func (cc *clientConn) send(fields ...string) {
	cc.lock()
	defer cc.unlock()
	for i, f := range fields {
		if i > 0 {
			cc.w.WriteByte('\t')
		}
		cc.w.WriteString(f)
	}
	cc.w.WriteByte('\n')
}

func (s *Server) handleClient(c net.Conn) {
	if s.Authenticator == nil {
		return
	}
	cc := &clientConn{s: s, c: c, w: bufio.NewWriter(c), mechs: map[string]bool{}, reqs: map[uint64]*request{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		cc.mu.Lock()
		for _, r := range cc.reqs {
			r.cancel()
		}
		cc.mu.Unlock()
	}()
	cookie := make([]byte, 16)
	rand.Read(cookie)
	var hello strings.Builder
	hello.WriteString("VERSION\t1\t2\n")
	for _, m := range s.advertised() {
		cc.mechs[m] = true
		fmt.Fprintf(&hello, "MECH\t%s%s\n", m, mechFlags(m))
	}
	fmt.Fprintf(&hello, "SPID\t%d\nCUID\t%d\nCOOKIE\t%s\nDONE\n", os.Getpid(), s.cuid.Add(1), hex.EncodeToString(cookie))
	cc.wmu.Lock()
	cc.w.WriteString(hello.String())
	err := cc.w.Flush()
	cc.wmu.Unlock()
	if err != nil {
		return
	}
	rd := &reader{r: bufio.NewReaderSize(c, 4096), base: context.WithoutCancel(ctx), done: make(chan struct{})}
	cc.read(rd)
	<-rd.done
}

// reader is a connection's reading: it goes from goroutine to goroutine
// when a request run inline hands it on.
type reader struct {
	r *bufio.Reader
	// base is the parent of the requests' contexts. Requests are not
	// children of the connection's: its end cancels every request in
	// reqs itself, and a child would cost a registration with the
	// parent (a map insertion and deletion under its lock) per request.
	base context.Context
	// fbuf holds the fields of a line, reused from line to line (a
	// request keeps none of them, only the strings).
	fbuf [24]string
	done chan struct{} // closed when the connection's reading ends
}

// read reads and handles lines until the connection ends (it closes
// rd.done) or a request run inline hands the reading on to another
// goroutine (it returns when the request is done).
func (cc *clientConn) read(rd *reader) {
	s := cc.s
	handed := false
	defer func() {
		if !handed {
			close(rd.done)
		}
	}()
	for {
		line, err := readLine(rd.r, s.maxLine())
		if err != nil {
			if err == errLineTooLong {
				s.logger().Warn("dovecotauth: line too long; closing")
			}
			return
		}
		f := splitTabs(rd.fbuf[:0], line)
		switch f[0] {
		case "VERSION":
			if len(f) < 2 || f[1] != "1" {
				s.logger().Warn("dovecotauth: client has incompatible protocol version", "version", strings.Join(f[1:], "."))
				return
			}
		case "CPID":
		case "AUTH":
			var ok bool
			if ok, handed = cc.auth(rd, f); !ok || handed {
				return
			}
		case "CONT":
			cc.cont(f)
		case "CANCEL":
			if len(f) >= 2 {
				if id, err := strconv.ParseUint(f[1], 10, 32); err == nil {
					cc.mu.Lock()
					if rq := cc.reqs[id]; rq != nil {
						rq.cancel()
						delete(cc.reqs, id)
					}
					cc.mu.Unlock()
				}
			}
		default:
			s.logger().Debug("dovecotauth: ignoring unknown command", "cmd", f[0])
		}
	}
}

// auth starts an AUTH request; !ok closes the connection (protocol
// violations, as Dovecot does). PLAIN with an initial response runs
// here, on the reading goroutine, so that a cached login costs no
// hand-off between goroutines; when it may wait (auth.WithBlocking:
// the passdb, a penalty, a failure), it first hands the reading on to
// a worker and reports handed. Other requests run on a worker.
func (cc *clientConn) auth(rd *reader, f []string) (ok, handed bool) {
	if len(f) < 3 {
		cc.s.logger().Warn("dovecotauth: AUTH with too few parameters")
		return false, false
	}
	id, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		cc.s.logger().Warn("dovecotauth: AUTH with invalid id")
		return false, false
	}
	mech := strings.ToUpper(f[2])
	if !cc.mechs[mech] {
		cc.s.logger().Warn("dovecotauth: AUTH with unadvertised mechanism", "mech", mech)
		return false, false
	}
	p := paramList(f[3:])
	cc.mu.Lock()
	limit := cc.s.MaxRequests
	if limit <= 0 {
		limit = DefaultMaxRequests
	}
	if _, dup := cc.reqs[id]; dup || len(cc.reqs) >= limit {
		cc.mu.Unlock()
		cc.s.logger().Warn("dovecotauth: duplicate request id or too many requests", "id", id)
		return false, false
	}
	rctx, cancel := context.WithCancel(rd.base)
	rq := &request{cancel: cancel}
	cc.reqs[id] = rq
	cc.mu.Unlock()
	ids := strconv.FormatUint(id, 10)

	var initial []byte
	if resp, ok := p.get("resp"); ok {
		initial, err = base64.StdEncoding.DecodeString(resp)
		if err != nil {
			cc.finish(id, rq)
			cc.send("FAIL", ids, "code=invalid_base64", "reason=Invalid base64 data in initial response")
			return true, false
		}
		if initial == nil {
			initial = []byte{}
		}
	}
	ci := connInfo(p)
	if mech != "PLAIN" || initial == nil {
		cc.s.workers.run(func() { cc.run(rctx, id, ids, rq, mech, ci, initial, nil) })
		return true, false
	}
	handOn := func() {
		if !handed {
			handed = true
			cc.s.workers.run(func() { cc.read(rd) })
		}
	}
	cc.run(auth.WithBlocking(rctx, handOn), id, ids, rq, mech, ci, initial, handOn)
	return true, handed
}

// connInfo builds the connection description from AUTH parameters.
func connInfo(p paramGetter) *auth.ConnInfo {
	get := func(k string) string { v, _ := p.get(k); return v }
	ci := &auth.ConnInfo{Service: get("service")}
	addr := func(ip, port string) net.Addr {
		a := net.ParseIP(ip)
		if a == nil {
			return nil
		}
		n, _ := strconv.Atoi(port)
		return &net.TCPAddr{IP: a, Port: n}
	}
	ci.LocalAddr = addr(get("lip"), get("lport"))
	rip, hasRIP := p.get("rip")
	_, secured := p.get("secured")
	ci.RemoteAddr = addr(rip, get("rport"))
	if !hasRIP {
		// No client address: a local tool (doveadm auth test) on the
		// UNIX socket, whose permissions are the trust boundary.
		secured = true
	}
	if secured {
		// The client (e.g. Postfix) says the session is protected by TLS;
		// the TLS state itself is not passed over this protocol.
		ci.TLS = &tls.ConnectionState{HandshakeComplete: true}
	}
	return ci
}

func (cc *clientConn) finish(id uint64, rq *request) {
	cc.mu.Lock()
	if cc.reqs[id] == rq {
		delete(cc.reqs, id)
	}
	cc.mu.Unlock()
	rq.cancel()
}

// run drives one SASL exchange; handOn, if not nil, is called before
// it waits for the client.
func (cc *clientConn) run(ctx context.Context, id uint64, ids string, rq *request, mech string, ci *auth.ConnInfo, resp []byte, handOn func()) {
	defer cc.finish(id, rq)
	ss, err := cc.s.Authenticator.NewSASL(ctx, mech, ci)
	if err != nil {
		cc.fail(ctx, ids, err)
		return
	}
	timeout := cc.s.StepTimeout
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	for {
		ch, done, err := ss.Next(ctx, resp)
		if ctx.Err() != nil {
			return // cancelled: no reply
		}
		if err != nil {
			cc.fail(ctx, ids, err)
			return
		}
		if done {
			cc.ok(ids, ss.Identity(), ch)
			return
		}
		if handOn != nil {
			handOn()
		}
		cont := cc.contChan(rq)
		cc.send("CONT", ids, base64.StdEncoding.EncodeToString(ch))
		t := time.NewTimer(timeout)
		select {
		case resp = <-cont:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			cc.send("FAIL", ids, "reason=Authentication request timed out")
			return
		}
	}
}

func (cc *clientConn) ok(ids string, id *auth.Identity, final []byte) {
	keys := make([]string, 0, len(id.Fields))
	for k := range id.Fields {
		if k != "user" && k != "" && !strings.ContainsAny(k, "\t\n=") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	cc.lock()
	defer cc.unlock()
	w := cc.w
	w.WriteString("OK\t")
	w.WriteString(ids)
	w.WriteString("\tuser=")
	w.WriteString(escape(id.User))
	for _, k := range keys {
		w.WriteByte('\t')
		w.WriteString(k)
		w.WriteByte('=')
		w.WriteString(escape(id.Fields[k]))
	}
	if len(final) > 0 {
		w.WriteString("\tresp=")
		w.WriteString(base64.StdEncoding.EncodeToString(final))
	}
	w.WriteByte('\n')
}

func (cc *clientConn) fail(ctx context.Context, ids string, err error) {
	if ctx.Err() != nil {
		return
	}
	switch {
	case errors.Is(err, auth.ErrTempFail):
		cc.send("FAIL", ids, "temp", "reason=Temporary authentication failure")
	case errors.Is(err, auth.ErrPlaintextNotAllowed):
		cc.send("FAIL", ids, "reason=Plaintext authentication disallowed on non-secure connections")
	case errors.Is(err, auth.ErrMalformed):
		cc.send("FAIL", ids, "reason=Invalid authentication data")
	case errors.Is(err, auth.ErrUnsupportedMechanism):
		cc.send("FAIL", ids, "reason=Unsupported authentication mechanism")
	default:
		cc.send("FAIL", ids)
	}
}

// cont routes a CONT line to its request.
func (cc *clientConn) cont(f []string) {
	if len(f) < 2 {
		return
	}
	id, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return
	}
	cc.mu.Lock()
	rq := cc.reqs[id]
	cc.mu.Unlock()
	if rq == nil {
		cc.send("FAIL", f[1], "reason=Unexpected continuation")
		return
	}
	data := ""
	if len(f) >= 3 {
		data = f[2]
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		cc.finish(id, rq)
		cc.send("FAIL", f[1], "code=invalid_base64", "reason=Invalid base64 data in continued response")
		return
	}
	if b == nil {
		b = []byte{}
	}
	select {
	case cc.contChan(rq) <- b:
	default:
		// A CONT while the server is still working on the previous step.
		cc.finish(id, rq)
		cc.send("FAIL", f[1], "reason=Unexpected continuation")
	}
}
