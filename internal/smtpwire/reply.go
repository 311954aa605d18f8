package smtpwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteReply writes a reply with the given code, enhanced status code
// ("5.7.1", or "" to omit it) and text. Text lines separated by "\n"
// become a multi-line reply ("250-first", ..., "250 last"; RFC 5321
// 4.2.1), each carrying the enhanced code (RFC 2034). CR and other
// control characters in text are replaced by spaces. The writer is not
// flushed.
func WriteReply(w *bufio.Writer, code int, enhanced, text string) error {
	lines := strings.Split(text, "\n")
	c := strconv.Itoa(code)
	for i, l := range lines {
		w.WriteString(c)
		if i == len(lines)-1 {
			w.WriteByte(' ')
		} else {
			w.WriteByte('-')
		}
		if enhanced != "" {
			w.WriteString(enhanced)
			if l != "" {
				w.WriteByte(' ')
			}
		}
		for j := 0; j < len(l); j++ {
			if b := l[j]; b < 0x20 || b == 0x7f {
				w.WriteByte(' ')
			} else {
				w.WriteByte(b)
			}
		}
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	return nil
}

// Reply is a server reply as a client reads it.
type Reply struct {
	Code int
	// Enhanced is the RFC 3463 code of the first line, "" if none.
	Enhanced string
	// Lines are the texts of each line with the code (and enhanced code)
	// removed.
	Lines []string
}

// Text returns the lines joined by "\n".
func (r *Reply) Text() string { return strings.Join(r.Lines, "\n") }

// MaxReplyLines bounds the lines of one reply a client reads.
const MaxReplyLines = 100

// Errors of ReadReply. Both mean the server does not speak SMTP (or
// tries to exhaust the client); the connection is out of step and must
// be closed.
var (
	// ErrBadReply is returned (wrapped, with the offending line) for a
	// line that is not "ddd[ -]text" with a code of 2xx to 5xx, or a
	// continuation line with another code than the first.
	ErrBadReply = errors.New("malformed reply")
	// ErrReplyTooLong is returned for a reply of more than MaxReplyLines
	// lines, or a line longer than the limit.
	ErrReplyTooLong = errors.New("reply too long")
)

// ReadReply reads one (possibly multi-line) reply, each line at most max
// bytes (DefaultMaxLineLength when max <= 0) and at most MaxReplyLines
// lines, so a server that never ends its reply costs bounded memory. The
// enhanced code is split off when the first line has one.
func ReadReply(r *bufio.Reader, max int) (*Reply, error) {
	rep := &Reply{}
	for n := 0; ; n++ {
		if n == MaxReplyLines {
			return nil, fmt.Errorf("%w: more than %d lines", ErrReplyTooLong, MaxReplyLines)
		}
		line, err := readReplyLine(r, max)
		if err != nil {
			return nil, err
		}
		if len(line) < 3 || len(line) > 3 && line[3] != ' ' && line[3] != '-' {
			return nil, badReply(line)
		}
		code, err := strconv.Atoi(string(line[:3]))
		if err != nil || code < 200 || code > 599 || line[0] == '+' || line[0] == '-' {
			return nil, badReply(line)
		}
		if n > 0 && code != rep.Code {
			return nil, badReply(line)
		}
		rep.Code = code
		more := len(line) > 3 && line[3] == '-'
		text := ""
		if len(line) > 4 {
			text = string(line[4:])
		}
		if enh, rest, ok := splitEnhanced(text, code); ok {
			if n == 0 {
				rep.Enhanced = enh
			}
			if n == 0 || enh == rep.Enhanced {
				text = rest
			}
		}
		rep.Lines = append(rep.Lines, text)
		if !more {
			return rep, nil
		}
	}
}

// readReplyLine reads one line like ReadLine but fails as soon as it is
// longer than max: a client closes the connection then, so there is no
// need to read on to the line's end (which may never come).
func readReplyLine(r *bufio.Reader, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxLineLength
	}
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > max {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrReplyTooLong, max)
		}
		line = append(line, frag...)
		switch err {
		case nil:
			return bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'}), nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(line) == 0 {
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// badReply wraps ErrBadReply with (the start of) line, quoted.
func badReply(line []byte) error {
	if len(line) > 40 {
		line = line[:40]
	}
	return fmt.Errorf("%w: %q", ErrBadReply, line)
}

// splitEnhanced splits "5.7.1 text" when the class digit matches code.
func splitEnhanced(s string, code int) (string, string, bool) {
	word, rest, _ := strings.Cut(s, " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) {
		return "", "", false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return "", "", false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return "", "", false
			}
		}
	}
	return word, rest, true
}
