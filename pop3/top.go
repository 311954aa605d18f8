package pop3

import (
	"bufio"
	"errors"
	"io"

	"github.com/yubinmail/yubin/store"
)

// cmdTop sends a message's header, the empty line, and the first n lines
// of its body (RFC 1939 section 7), in CRLF form and dot-stuffed. TOP
// does not set \Seen.
func (s *session) cmdTop(c command) {
	args := c.args()
	if len(args) != 2 {
		s.fail(&Error{Text: "TOP takes a message number and a line count."})
		return
	}
	m, _, err := s.drop.get(args[0])
	if err != nil {
		s.fail(err)
		return
	}
	lines, ok := parseNumber(args[1])
	if !ok {
		s.fail(&Error{Text: "Invalid number of lines: " + quoteArg(args[1])})
		return
	}
	r, err := s.openMessage(m)
	if err != nil {
		s.reply(err)
		return
	}
	defer r.Close()
	s.writeString("+OK\r\n")
	dw := newDotWriter(sessionWriter{s})
	if err := copyTop(dw, bufio.NewReaderSize(store.NewCRLFReader(r), 16<<10), lines); err != nil {
		s.abort("TOP", err)
		return
	}
	if dw.Close() != nil {
		s.abort("TOP", errWriteFailed)
	}
}

// copyTop copies the header up to and including the empty line that ends
// it, then at most lines body lines.
func copyTop(w io.Writer, r *bufio.Reader, lines uint32) error {
	inHeader := true
	partial := false // the previous read ended inside a long line
	var body uint32
	for inHeader || body < lines {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return errWriteFailed
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				partial = true // the rest of a long line follows
				continue
			}
			return err
		}
		wasPartial := partial
		partial = false
		if inHeader {
			if wasPartial {
				continue
			}
			if len(line) == 2 || len(line) == 1 { // "\r\n" ends the header
				inHeader = false
			}
		} else {
			body++
		}
	}
	return nil
}
