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
	args := c.args()
	if len(args) != 1 {
		s.fail(&Error{Text: "RETR takes one message number."})
		return
	}
	m, _, err := s.drop.get(args[0])
	if err != nil {
		s.fail(err)
		return
	}
	r, err := s.openMessage(m)
	if err != nil {
		s.reply(err)
		return
	}
	defer r.Close()
	s.writeString("+OK " + strconv.FormatInt(m.size, 10) + " octets\r\n")
	if s.bufs == nil {
		s.bufs = retrBufPool.Get().(*retrBufs)
	}
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

// retrBufs are RETR's read buffer and conversion space, shared between
// sessions through retrBufPool.
type retrBufs struct {
	buf, scratch []byte
}

var retrBufPool = sync.Pool{New: func() any {
	return &retrBufs{buf: make([]byte, 32<<10), scratch: make([]byte, 0, 66<<10)}
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
