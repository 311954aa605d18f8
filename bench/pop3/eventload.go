//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// eventLoad is Load with every client in one thread: an epoll loop over
// non-blocking sockets, each running the same session as blockSession
// (greeting, USER, PASS, STAT, UIDL, RETR of every message, QUIT, wait
// for the server to close). It is the cheapest way for the load
// generator, which shares the machine's CPUs with the server it
// measures, to keep many clients going: no thread or goroutine switch
// per reply, and one epoll_wait serves every connection that is ready.
func eventLoad(ctx context.Context, addr, user, pass string, clients int, d time.Duration) Result {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := Result{Clients: clients}
	fail := func(err error) {
		r.Errors++
		if r.FirstErr == nil {
			r.FirstErr = err
		}
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fail(os.NewSyscallError("epoll_create1", err))
		return r
	}
	defer syscall.Close(ep)
	start := time.Now()
	deadline := start.Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conns := map[int32]*evConn{}
	// open starts a new session unless the run is over; a failed
	// connect counts as a failed session and is tried again.
	open := func() {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			c, err := dialBlocking(addr, 60*time.Second)
			if err == nil {
				if err = syscall.SetNonblock(c.fd, true); err == nil {
					ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(c.fd)}
					err = syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, c.fd, &ev)
				}
				if err == nil {
					e := &evConn{blockConn: c, user: user, pass: pass, last: time.Now()}
					conns[int32(c.fd)] = e
					return
				}
				c.close()
			}
			fail(err)
		}
	}
	for i := 0; i < clients; i++ {
		open()
	}
	events := make([]syscall.EpollEvent, clients)
	for len(conns) > 0 {
		n, err := rawEpollWait(ep, events, 1000)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			fail(os.NewSyscallError("epoll_wait", err))
			break
		}
		now := time.Now()
		for _, ev := range events[:n] {
			e := conns[ev.Fd]
			if e == nil {
				continue
			}
			e.last = now
			done, err := e.readable()
			if !done && err == nil {
				continue
			}
			delete(conns, ev.Fd)
			e.close()
			if err != nil {
				fail(err)
			} else {
				r.Sessions++
				r.Bytes += e.total
			}
			open()
		}
		if n == 0 {
			// Nothing for a second: end sessions stuck for a minute.
			for fd, e := range conns {
				if now.Sub(e.last) > time.Minute {
					delete(conns, fd)
					e.close()
					fail(errors.New("session timed out"))
					open()
				}
			}
		}
	}
	r.Elapsed = time.Since(start)
	return r
}

// evConn is one session of eventLoad.
type evConn struct {
	*blockConn
	user, pass string
	phase      int // what the next reply is, one of the ph* constants
	count, i   int64
	octets     int64 // the STAT reply's total size
	size       int64 // of the message being received
	dropped    int64 // of the body being received, no longer in buf
	total      int64
	last       time.Time
	cmd        []byte
}

const (
	phGreeting = iota
	phUser
	phPass
	phStat
	phUIDL
	phUIDLBody
	phRetr
	phRetrBody
	phQuit
	phClose
)

// readable reads what the socket has and runs the session on as far as
// the data goes. done is true once the server closed after QUIT.
func (e *evConn) readable() (done bool, err error) {
	if e.r > 0 && e.r == e.w {
		e.r, e.w = 0, 0
	}
	if e.w == len(e.buf) {
		if e.r > 0 {
			e.w = copy(e.buf, e.buf[e.r:e.w])
			e.r = 0
		} else {
			e.buf = append(e.buf, make([]byte, len(e.buf))...)
		}
	}
	n, err := rawRead(e.fd, e.buf[e.w:])
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return false, nil
	}
	if err != nil {
		return false, os.NewSyscallError("read", err)
	}
	if n == 0 {
		if e.phase == phClose {
			return true, nil
		}
		return false, errors.New("server closed the connection early")
	}
	e.w += n
	for {
		progressed, err := e.step()
		if err != nil || !progressed {
			return false, err
		}
	}
}

// step handles one complete reply (status line or multi-line body) in
// the buffer, if there is one.
func (e *evConn) step() (bool, error) {
	switch e.phase {
	case phClose:
		e.r = e.w // anything after the QUIT reply is ignored
		return false, nil
	case phUIDLBody, phRetrBody:
		// As blockConn.skipBody: the reply is complete when the data
		// ends with the terminator.
		if e.w-e.r < len(bodyEnd) || string(e.buf[e.w-len(bodyEnd):e.w]) != bodyEnd {
			if keep := e.w - (len(bodyEnd) - 1); keep > e.r {
				e.dropped += int64(keep - e.r)
				e.r = keep
			}
			return false, nil
		}
		wire := e.dropped + int64(e.w-e.r) - int64(len(bodyEnd))
		e.dropped = 0
		e.r = e.w - 2
		if e.phase == phRetrBody {
			if err := checkBody(e.i, e.size, wire); err != nil {
				return false, err
			}
			e.total += e.size
			e.i++
		} else {
			e.i = 1
		}
		if e.i <= e.count {
			e.phase = phRetr
			return true, e.send("RETR " + strconv.FormatInt(e.i, 10))
		}
		if e.total != e.octets {
			return false, fmt.Errorf("RETR sizes add up to %d octets, STAT said %d", e.total, e.octets)
		}
		e.phase = phQuit
		return true, e.send("QUIT")
	}
	i := bytes.IndexByte(e.buf[e.r:e.w], '\n')
	if i < 0 {
		return false, nil
	}
	line := e.buf[e.r : e.r+i+1]
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return false, fmt.Errorf("status line without CRLF %q", line)
	}
	if !bytes.HasPrefix(line, []byte("+OK")) {
		return false, fmt.Errorf("server said %q", bytes.TrimSpace(line))
	}
	// Leave the CRLF unread: a body's end is searched from it.
	e.r += i - 1
	switch e.phase {
	case phGreeting:
		e.phase = phUser
		return true, e.send("USER " + e.user)
	case phUser:
		e.phase = phPass
		return true, e.send("PASS " + e.pass)
	case phPass:
		e.phase = phStat
		return true, e.send("STAT")
	case phStat:
		v, ok := field(line, 1)
		o, ok2 := field(line, 2)
		if !ok || !ok2 {
			return false, fmt.Errorf("bad STAT reply %q", line)
		}
		e.count, e.octets = v, o
		e.phase = phUIDL
		return true, e.send("UIDL")
	case phUIDL:
		e.phase = phUIDLBody
		return true, nil
	case phRetr:
		v, ok := field(line, 1)
		if !ok {
			return false, fmt.Errorf("bad RETR reply %q", line)
		}
		e.size = v
		e.phase = phRetrBody
		return true, nil
	case phQuit:
		e.phase = phClose
		e.r += 2
		return true, nil
	}
	return false, fmt.Errorf("bad phase %d", e.phase)
}

// send writes a command line; the previous reply's CRLF is consumed.
func (e *evConn) send(cmd string) error {
	e.r += 2
	b := append(e.cmd[:0], cmd...)
	b = append(b, '\r', '\n')
	e.cmd = b
	for len(b) > 0 {
		n, err := rawWrite(e.fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			// A command line always fits in an empty socket buffer.
			return os.NewSyscallError("write", err)
		}
		b = b[n:]
	}
	return nil
}
