package pop3

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// socketIO reads and writes a plain (not TLS) connection's socket with
// read(2) and write(2) issued as raw system calls from inside the
// connection's RawConn.Read and RawConn.Write, which keep the
// connection's deadlines and its waits, through the runtime's poller,
// for the socket to have data or room.
//
// Through net.Conn each read and write is a system call that may block
// as far as the Go scheduler knows: a long write (a RETR reply the
// loopback or NIC path takes tens of microseconds to accept) gets its
// processor taken away by the runtime's monitor thread (sysmon) and must
// win one back, and a call made after the session waited with every
// processor idle wakes sysmon from its deep sleep. Measured through the
// fullserver (bench/pop3, 10 clients), this cut context switches per
// session from 62 to 44 and the CPU per session by about 4%; the
// message file's open, read and close still go through the scheduler.
// The socket is non-blocking (the poller owns it), so the raw calls
// never sleep: an empty or full socket returns EAGAIN and the session
// waits through the poller as net.Conn would.
type socketIO struct {
	rc syscall.RawConn
	// The read and the write in progress (a read and a write may run
	// at the same time, as on a net.Conn): buffer and result. readFn
	// and writeFn are the callbacks given to rc, made once per
	// connection (a closure per call was two allocations per command).
	rd, wr  ioCall
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
}

// ioCall is one read or write in progress on a socketIO.
type ioCall struct {
	p     []byte
	n     int
	errno syscall.Errno
}

// newSocketIO returns a socketIO for c when c is a *net.TCPConn or
// *net.UnixConn, or PassThroughConn wrappers of one, else nil.
func newSocketIO(c net.Conn) io.ReadWriter {
	for i := 0; i < 8; i++ {
		pt, ok := c.(PassThroughConn)
		if !ok {
			break
		}
		c = pt.PassThrough()
	}
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &socketIO{rc: rc}
	s.readFn, s.writeFn = s.readSome, s.writeAll
	return s
}

func (s *socketIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.rd = ioCall{p: p}
	err := s.rc.Read(s.readFn)
	n, errno := s.rd.n, s.rd.errno
	s.rd.p = nil
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readSome is Read's callback: one read(2) into s.rd.p; false (wait
// through the poller) when the socket has nothing yet.
func (s *socketIO) readSome(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rd.p[0])), uintptr(len(s.rd.p)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		if raceEnabled && errno == 0 {
			// syscall.Read of nothing: the race detector's
			// acquire of what other goroutines wrote before
			// their writes, which a raw read does not do.
			syscall.Read(int(fd), nil)
		}
		s.rd.n, s.rd.errno = int(n), errno
		return true
	}
}

func (s *socketIO) Write(p []byte) (int, error) {
	s.wr = ioCall{p: p}
	err := s.rc.Write(s.writeFn)
	n, errno := s.wr.n, s.wr.errno
	s.wr.p = nil
	if err == nil && errno != 0 {
		err = &net.OpError{Op: "write", Net: "tcp", Err: errno}
	}
	return n, err
}

// writeAll is Write's callback: write(2) until s.wr.p is all written;
// false (wait through the poller) when the socket is full.
func (s *socketIO) writeAll(fd uintptr) bool {
	if raceEnabled {
		// syscall.Write of nothing: the race detector's release
		// that a raw write does not do.
		syscall.Write(int(fd), nil)
	}
	w := &s.wr
	for w.n < len(w.p) {
		m, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&w.p[w.n])), uintptr(len(w.p)-w.n))
		switch e {
		case 0:
			w.n += int(m)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			w.errno = e
			return true
		}
	}
	return true
}
