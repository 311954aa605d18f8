package pop3

import (
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/yubinmail/yubin/store"
)

// cmdRetr sends a whole message (RFC 1939 section 5): "+OK <size>
// octets" with the size the store reports (LF counted as CRLF), then the
// message in CRLF form (as store.NewCRLFReader gives it), dot-stuffed. The message gets \Seen when the
// session ends unless NoFlagUpdates is set.
func (s *session) cmdRetr(c command) {
	arg, ok := c.oneArg()
	if !ok {
		s.fail(&Error{Text: "RETR takes one message number."})
		return
	}
	m, n, err := s.drop.get(arg)
	if err != nil {
		s.fail(err)
		return
	}
	if s.bufs == nil {
		s.bufs = retrBufPool.Get().(*retrBufs)
	}
	prepared := s.ahead == n && n > 0 // by readAhead
	s.ahead = 0
	var r store.MessageReader
	if !prepared {
		if r, err = s.openMessage(m); err != nil {
			s.reply(err)
			return
		}
		defer r.Close()
		if prepared, err = s.prepareRetr(m, r); err != nil {
			s.reply(errUnreadable)
			s.log.Warn("pop3: reading message failed", "cmd", "RETR", "err", err)
			return
		}
	}
	if prepared {
		// One write from the prepared reply, without another copy.
		if s.writeWhole(s.bufs.ahead) != nil {
			s.abort("RETR", errWriteFailed)
			return
		}
		m.retrieved = true
		s.nextRetr = n + 1
		return
	}
	s.writeString("+OK " + strconv.FormatInt(m.size, 10) + " octets\r\n")
	ww := newWireWriter(sessionWriter{s}, s.bufs.scratch)
	if err := copyMessage(ww, r, s.bufs.buf); err != nil {
		s.abort("RETR", err)
		return
	}
	s.bufs.scratch = ww.out
	if ww.close() != nil {
		s.abort("RETR", errWriteFailed)
		return
	}
	m.retrieved = true
	s.nextRetr = n + 1
}

// readAhead prepares the reply to "RETR n+1" after a RETR of message n,
// when the session is about to wait for the client's next command with
// nothing pipelined: clients (fetchmail, poplib, mail readers) retrieve
// messages in order, and preparing the reply while the client still
// reads the last one lets the server's file reading and conversion run
// alongside the client's work instead of after its next request. Only
// messages that fit the session's read buffer are prepared; a message
// that cannot be read is left to RETR itself (and its error). Message
// files do not change, so the prepared reply stays right; it is used
// only by the very next command, and only if that is "RETR n+1" for a
// message not marked deleted.
func (s *session) readAhead() {
	n := s.nextRetr
	s.nextRetr, s.ahead = 0, 0
	if n == 0 || s.drop == nil || s.mbox == nil || s.bufs == nil || n > len(s.drop.msgs) {
		return
	}
	m := &s.drop.msgs[n-1]
	if m.deleted {
		return
	}
	r, err := s.mbox.Open(s.ctx, m.uid)
	if err != nil {
		return
	}
	defer r.Close()
	if ok, _ := s.prepareRetr(m, r); ok {
		s.ahead = n
	}
}

// prepareRetr builds the whole RETR reply for m, read from r, in
// s.bufs.ahead: the status line, the message in wire form and the
// terminating line. It reports false for a message larger than the read
// buffer, which RETR streams instead.
func (s *session) prepareRetr(m *message, r store.MessageReader) (bool, error) {
	size := r.Size()
	if size <= 0 || size > int64(len(s.bufs.buf)) {
		return false, nil
	}
	if _, err := io.ReadFull(r, s.bufs.buf[:size]); err != nil {
		return false, err
	}
	out := append(s.bufs.ahead[:0], "+OK "...)
	out = strconv.AppendInt(out, m.size, 10)
	out = append(out, " octets\r\n"...)
	ww := wireWriter{lineStart: true}
	out = ww.appendWire(out, s.bufs.buf[:size])
	s.bufs.ahead = ww.appendEnd(out)
	return true, nil
}

// openMessage opens m, mapping a message another session removed to
// "[SYS/TEMP]".
func (s *session) openMessage(m *message) (store.MessageReader, error) {
	r, err := s.mbox.Open(s.ctx, m.uid)
	if errors.Is(err, store.ErrNoSuchMessage) || errors.Is(err, store.ErrMailboxGone) {
		return nil, errGone
	}
	return r, err
}

// abort ends a session whose multi-line reply cannot be completed: the
// reply has started, so no -ERR can follow; closing the connection is
// the only honest signal. Nothing marked deleted is removed.
func (s *session) abort(what string, err error) {
	if !errors.Is(err, errWriteFailed) {
		s.log.Warn("pop3: reading message failed", "cmd", what, "err", err)
	}
	s.quit = true
	s.drop = nil // no \Seen, no deletions
	s.w.Reset(io.Discard)
}

// retrBufs are RETR's read buffer, conversion space and read-ahead
// reply, shared between sessions through retrBufPool.
type retrBufs struct {
	buf, scratch, ahead []byte
}

var retrBufPool = sync.Pool{New: func() any {
	return &retrBufs{buf: make([]byte, 32<<10), scratch: make([]byte, 0, 66<<10), ahead: make([]byte, 0, 66<<10)}
}}

// copyMessage copies r to w through buf. A message that fits in buf is
// read with one ReadFull of its known size, saving the read that would
// only report EOF.
func copyMessage(w io.Writer, r store.MessageReader, buf []byte) error {
	if size := r.Size(); size > 0 && size <= int64(len(buf)) {
		if _, err := io.ReadFull(r, buf[:size]); err != nil {
			return err
		}
		_, err := w.Write(buf[:size])
		return err
	}
	_, err := io.CopyBuffer(w, onlyReader{r}, buf)
	return err
}

// onlyReader hides everything but Read so that io.CopyBuffer uses the
// session's buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// sessionWriter lets io.Copy write through the session's buffer with its
// write deadlines.
type sessionWriter struct{ s *session }

func (w sessionWriter) Write(p []byte) (int, error) {
	if err := w.s.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
