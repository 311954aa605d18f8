package smtpwire

import (
	"bufio"
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

// ReadReply reads one (possibly multi-line) reply, each line at most max
// bytes. The enhanced code is split off when the first line has one.
func ReadReply(r *bufio.Reader, max int) (*Reply, error) {
	rep := &Reply{}
	for n := 0; ; n++ {
		if n == MaxReplyLines {
			return nil, ErrSyntax
		}
		line, err := ReadLine(r, max)
		if err != nil {
			return nil, err
		}
		if len(line) < 3 {
			return nil, ErrSyntax
		}
		code, err := strconv.Atoi(string(line[:3]))
		if err != nil || code < 200 || code > 599 {
			return nil, ErrSyntax
		}
		if n > 0 && code != rep.Code {
			return nil, ErrSyntax
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
