package imap

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/serve"
)

// deadlineWriter sets a write deadline before every write, so that a
// client that stops reading is disconnected once the socket buffer and
// the session's bounded buffer are full and timeout passes.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if d.timeout > 0 {
		d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	}
	return d.c.Write(p)
}

// writer streams responses to the client through a fixed-size buffer.
// Errors stick: after the first failed write every call is a no-op and
// err reports it, so handlers can write without checking each call.
type writer struct {
	bw   *bufio.Writer
	sink *serve.CountWriter // under bw: what went to the client (logout.go)
	err  error
	// utf8 is set once the client enabled UTF8=ACCEPT: mailbox names go
	// out as UTF-8 quoted strings instead of modified UTF-7.
	utf8 bool
}

func newWriter(w io.Writer) *writer {
	sink := &serve.CountWriter{W: w}
	return &writer{bw: bufio.NewWriterSize(sink, 16<<10), sink: sink}
}

// reset writes to w from now on (STARTTLS, COMPRESS), keeping the byte
// count.
func (w *writer) reset(dst io.Writer) {
	w.sink.W = dst
	w.bw.Reset(w.sink)
}

func (w *writer) str(s string) {
	if w.err == nil {
		_, w.err = w.bw.WriteString(s)
	}
}

func (w *writer) byte(b byte) {
	if w.err == nil {
		w.err = w.bw.WriteByte(b)
	}
}

func (w *writer) num(n uint32) { w.str(strconv.FormatUint(uint64(n), 10)) }

func (w *writer) num64(n uint64) { w.str(strconv.FormatUint(n, 10)) }

func (w *writer) crlf() { w.str("\r\n") }

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.err = err
	return n, err
}

func (w *writer) flush() error {
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// quotable reports whether s can be sent as a quoted string.
func quotable(s string, allow8bit bool) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' || (c >= 0x80 && !allow8bit) {
			return false
		}
	}
	return true
}

// quoted writes s as a quoted string, or as a literal where it cannot be
// quoted.
func (w *writer) quoted(s string) {
	if !quotable(s, w.utf8) {
		w.literal(s)
		return
	}
	w.byte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			w.byte('\\')
		}
		w.byte(s[i])
	}
	w.byte('"')
}

// literal writes s as a literal; NUL, which a literal must not hold
// (RFC 9051 4.3), goes out as 0x80, as Dovecot sends it.
func (w *writer) literal(s string) {
	w.byte('{')
	w.str(strconv.Itoa(len(s)))
	w.str("}\r\n")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\x80")
	}
	w.str(s)
}

// mailbox writes a store mailbox name as the client sees it: modified
// UTF-7, or UTF-8 after ENABLE UTF8=ACCEPT.
func (w *writer) mailbox(name string) {
	if w.utf8 {
		w.quoted(name)
		return
	}
	w.quoted(EncodeMailboxName(name))
}

// flags writes a parenthesised flag list.
func (w *writer) flagList(list []string) {
	w.byte('(')
	for i, f := range list {
		if i > 0 {
			w.byte(' ')
		}
		w.str(f)
	}
	w.byte(')')
}
