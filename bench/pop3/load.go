//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Result is what one load run measured.
type Result struct {
	Clients  int
	Sessions int64         // completed sessions
	Errors   int64         // sessions that failed
	Bytes    int64         // message octets retrieved (as LIST reports them)
	Elapsed  time.Duration // wall time of the run
	FirstErr error
}

// SessionsPerSec is completed sessions per second.
func (r Result) SessionsPerSec() float64 { return float64(r.Sessions) / r.Elapsed.Seconds() }

// MBPerSec is retrieved message megabytes (10^6 octets) per second.
func (r Result) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("clients=%d sessions=%d errors=%d %.1f sessions/s %.1f MB/s", r.Clients, r.Sessions, r.Errors, r.SessionsPerSec(), r.MBPerSec())
}

// Load runs clients concurrent clients against addr for d; each
// repeats one full session: greeting, USER/PASS, STAT, UIDL, RETR of
// every message, QUIT. Sessions under way when d has passed are
// finished and counted (Elapsed includes them). One client runs
// blockSession after blockSession; several run in one thread
// (eventLoad), which costs less CPU than a thread each once there are
// several, but more for one (an epoll_wait per reply). With the client
// kind "net" (SetClient) each client is a goroutine running netSession.
func Load(ctx context.Context, addr, user, pass string, clients int, d time.Duration) Result {
	if !netClient.Load() && clients > 1 {
		return eventLoad(ctx, addr, user, pass, clients, d)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var sessions, errs, bytes atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n, err := Session(addr, user, pass)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				sessions.Add(1)
				bytes.Add(n)
			}
		}()
	}
	wg.Wait()
	r := Result{Clients: clients, Sessions: sessions.Load(), Errors: errs.Load(), Bytes: bytes.Load(), Elapsed: time.Since(start)}
	if e, ok := firstErr.Load().(error); ok {
		r.FirstErr = e
	}
	return r
}

// Session runs one POP3 session and returns the octets retrieved (the
// sizes RETR's "+OK" lines give). It uses blockSession unless the
// client kind is set to "net" (SetClient).
func Session(addr, user, pass string) (int64, error) {
	if netClient.Load() {
		return netSession(addr, user, pass)
	}
	return blockSession(addr, user, pass)
}

var netClient atomic.Bool

// SetClient chooses the client code: "block" (the default: Load runs
// eventLoad, Session blockSession) or "net" (goroutines running
// netSession, the load generator of before).
func SetClient(kind string) error {
	switch kind {
	case "", "block":
		netClient.Store(false)
	case "net":
		netClient.Store(true)
	default:
		return fmt.Errorf("unknown client kind %q", kind)
	}
	return nil
}

// blockSession runs one POP3 session the way simple clients (poplib,
// fetchmail) do: a blocking socket, one command at a time. The load
// generator shares the machine with the server it measures, so its own
// CPU time lowers every server's sessions/s; this client keeps that
// small: a blocking read wakes its thread directly (no EAGAIN read, no
// poller, no goroutine switch) and a multi-line reply is skipped by
// searching for its end (CRLF "." CRLF) rather than line by line.
func blockSession(addr, user, pass string) (int64, error) {
	c, err := dialBlocking(addr, 60*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.close()
	if _, err := c.status(); err != nil {
		return 0, err
	}
	if _, err := c.cmd("USER " + user); err != nil {
		return 0, err
	}
	if _, err := c.cmd("PASS " + pass); err != nil {
		return 0, err
	}
	st, err := c.cmd("STAT")
	if err != nil {
		return 0, err
	}
	count, ok := field(st, 1)
	octets, ok2 := field(st, 2)
	if !ok || !ok2 {
		return 0, fmt.Errorf("bad STAT reply %q", st)
	}
	if _, err := c.cmd("UIDL"); err != nil {
		return 0, err
	}
	if _, err := c.skipBody(); err != nil {
		return 0, err
	}
	var total int64
	cmd := make([]byte, 0, 32)
	for i := int64(1); i <= count; i++ {
		cmd = strconv.AppendInt(append(cmd[:0], "RETR "...), i, 10)
		l, err := c.cmdBytes(cmd)
		if err != nil {
			return 0, err
		}
		size, ok := field(l, 1)
		if !ok {
			return 0, fmt.Errorf("bad RETR reply %q", l)
		}
		wire, err := c.skipBody()
		if err != nil {
			return 0, err
		}
		if err := checkBody(i, size, wire); err != nil {
			return 0, err
		}
		total += size
	}
	if total != octets {
		return 0, fmt.Errorf("RETR sizes add up to %d octets, STAT said %d", total, octets)
	}
	if _, err := c.cmd("QUIT"); err != nil {
		return 0, err
	}
	// Wait for the server to close, so the session's end (its QUIT
	// work) is within the measurement.
	c.r, c.w = 0, 0
	for c.fill() == nil {
		c.r, c.w = 0, 0
	}
	return total, nil
}

// field parses the n-th space-separated field of a status line as a
// number.
func field(line []byte, n int) (int64, bool) {
	for ; n > 0; n-- {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return 0, false
		}
		line = line[i+1:]
	}
	var v int64
	d := 0
	for ; d < len(line) && line[d] >= '0' && line[d] <= '9'; d++ {
		v = v*10 + int64(line[d]-'0')
	}
	return v, d > 0
}

// blockConn is a blocking TCP socket with a read buffer.
type blockConn struct {
	fd     int
	buf    []byte
	pooled *[]byte // where buf goes back to readBufs
	r, w   int     // unread data is buf[r:w]
}

// dialBlocking connects to addr (an IPv4 host:port) with a blocking
// socket whose reads and writes time out after timeout. Like a Go
// net.TCPConn it sets TCP_NODELAY.
func dialBlocking(addr string, timeout time.Duration) (*blockConn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("load: need an IPv4 address:port, not %q", addr)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	c := &blockConn{fd: fd, pooled: readBufs.Get().(*[]byte)}
	c.buf = *c.pooled
	return c, nil
}

// readBufs keeps the connections' read buffers for the next sessions
// (a buffer grown for a large reply goes back grown).
var readBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func (c *blockConn) close() {
	syscall.Close(c.fd)
	*c.pooled = c.buf
	readBufs.Put(c.pooled)
	c.buf, c.pooled = nil, nil
}

// fill reads more data into the buffer, first moving the unread part
// from keep on to its start (or growing it when full).
func (c *blockConn) fill() error {
	if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.buf) {
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
	}
	for {
		n, err := rawRead(c.fd, c.buf[c.w:])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return errors.New("read timeout")
		}
		if err != nil {
			return os.NewSyscallError("read", err)
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		c.w += n
		return nil
	}
}

// status reads a status line and fails unless it is +OK. The line
// stays valid until the next read. Its CRLF is left unread so that a
// following multi-line body starts after a CRLF (see skipBody).
func (c *blockConn) status() ([]byte, error) {
	from := c.r
	for {
		if i := bytes.IndexByte(c.buf[from:c.w], '\n'); i >= 0 {
			end := from + i + 1
			line := c.buf[c.r:end]
			c.r = end - 2
			if len(line) < 2 || line[len(line)-2] != '\r' {
				return nil, fmt.Errorf("status line without CRLF %q", line)
			}
			if !bytes.HasPrefix(line, []byte("+OK")) {
				return nil, fmt.Errorf("server said %q", bytes.TrimSpace(line))
			}
			return line, nil
		}
		from = c.w
		off := c.r
		if err := c.fill(); err != nil {
			return nil, err
		}
		from -= off - c.r
	}
}

func (c *blockConn) cmd(s string) ([]byte, error) { return c.cmdBytes([]byte(s)) }

// cmdBytes sends a command line (CRLF added) and reads its status.
func (c *blockConn) cmdBytes(cmd []byte) ([]byte, error) {
	c.r += 2 // the previous status line's CRLF
	if c.r > c.w {
		c.r = c.w
	}
	cmd = append(cmd, '\r', '\n')
	for len(cmd) > 0 {
		n, err := rawWrite(c.fd, cmd)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("write", err)
		}
		cmd = cmd[n:]
	}
	return c.status()
}

// bodyEnd is how a multi-line body ends on the wire: the CRLF of its
// last line (or of the status line), then the "." line.
const bodyEnd = "\r\n.\r\n"

// skipBody skips a multi-line body up to and including its terminating
// "." line and returns the body's length on the wire (dot-stuffed,
// without the "." line). The unread data starts with the CRLF of the
// status line. Only the end of the data received is looked at, never
// the body: CRLF "." CRLF cannot occur inside a dot-stuffed body, and
// the server sends nothing after a reply until the next command, so the
// reply is complete exactly when the data received so far ends with it.
func (c *blockConn) skipBody() (int64, error) {
	var dropped int64
	for {
		if c.w-c.r >= len(bodyEnd) && string(c.buf[c.w-len(bodyEnd):c.w]) == bodyEnd {
			wire := dropped + int64(c.w-c.r) - int64(len(bodyEnd))
			// Leave the terminator's CRLF unread, as status does.
			c.r = c.w - 2
			return wire, nil
		}
		// Keep only what the end may still start with.
		if keep := c.w - (len(bodyEnd) - 1); keep > c.r {
			dropped += int64(keep - c.r)
			c.r = keep
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
}

// checkBody checks the length on the wire of message i's body against
// the size its RETR reply gave: no shorter, and no longer than
// dot-stuffing can make it (one more octet for a line of at least three,
// "." CRLF). The load generator does not read the bodies, but a server
// cannot send less than it claims.
func checkBody(i, size, wire int64) error {
	if wire < size || wire > size+size/3+1 {
		return fmt.Errorf("message %d: %d octets on the wire for a size of %d", i, wire, size)
	}
	return nil
}

// netSession is Session over a net.Conn with bufio, reading replies
// line by line (the load generator before blockSession).
func netSession(addr, user, pass string) (int64, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriter(c)
	status := func() (string, error) {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(l, "+OK") {
			return "", fmt.Errorf("server said %q", strings.TrimSpace(l))
		}
		return l, nil
	}
	cmd := func(s string) (string, error) {
		w.WriteString(s + "\r\n")
		if err := w.Flush(); err != nil {
			return "", err
		}
		return status()
	}
	body := func() (int64, error) {
		var n int64
		for {
			l, err := r.ReadSlice('\n')
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return n, err
			}
			if len(l) == 3 && l[0] == '.' && l[1] == '\r' {
				return n, nil
			}
			n += int64(len(l))
		}
	}
	if _, err := status(); err != nil {
		return 0, err
	}
	if _, err := cmd("USER " + user); err != nil {
		return 0, err
	}
	if _, err := cmd("PASS " + pass); err != nil {
		return 0, err
	}
	st, err := cmd("STAT")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(st)
	if len(f) < 3 {
		return 0, fmt.Errorf("bad STAT reply %q", st)
	}
	count, _ := strconv.Atoi(f[1])
	if _, err := cmd("UIDL"); err != nil {
		return 0, err
	}
	if _, err := body(); err != nil {
		return 0, err
	}
	var total int64
	for i := 1; i <= count; i++ {
		l, err := cmd("RETR " + strconv.Itoa(i))
		if err != nil {
			return 0, err
		}
		size, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
		if _, err := body(); err != nil {
			return 0, err
		}
		total += size
	}
	if _, err := cmd("QUIT"); err != nil {
		return 0, err
	}
	io.Copy(io.Discard, r)
	return total, nil
}
