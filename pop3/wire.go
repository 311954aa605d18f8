package pop3

import (
	"bytes"
	"io"
)

// wireWriter turns a stored message into a POP3 multi-line body in one
// pass: every LF not preceded by CR becomes CRLF (exactly what
// store.NewCRLFReader yields, so the octet count matches
// MessageInfo.Size), a line starting with "." gets another "." (RFC 1939
// section 3), and close adds the ".\r\n" terminator (after a CRLF when
// the message did not end with one). It works on large chunks instead of
// byte by byte; FuzzWireWriter checks it against store.NewCRLFReader
// and dotWriter. Without a writer (w nil) it only keeps the conversion
// state, for appendWire and appendEnd.
type wireWriter struct {
	w         io.Writer
	out       []byte
	lineStart bool // the next byte starts a line
	prevCR    bool // the last byte of input was CR
}

func newWireWriter(w io.Writer, scratch []byte) *wireWriter {
	return &wireWriter{w: w, out: scratch[:0], lineStart: true}
}

// Write converts p and writes the result. A chunk that needs no change
// (CRLF already, no line starting with ".") is written as it is.
func (c *wireWriter) Write(p []byte) (int, error) {
	n := len(p)
	if n > 0 && c.unchanged(p) {
		c.track(p)
		if _, err := c.w.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	c.out = c.appendWire(c.out[:0], p)
	if _, err := c.w.Write(c.out); err != nil {
		return 0, err
	}
	return n, nil
}

// appendWire appends p in wire form to dst and returns the result: one
// copy when p needs no change.
func (c *wireWriter) appendWire(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	if c.unchanged(p) {
		c.track(p)
		return append(dst, p...)
	}
	for len(p) > 0 {
		if c.lineStart && p[0] == '.' {
			dst = append(dst, '.')
		}
		c.lineStart = false
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			dst = append(dst, p...)
			c.prevCR = p[len(p)-1] == '\r'
			break
		}
		dst = append(dst, p[:i]...)
		crBefore := c.prevCR
		if i > 0 {
			crBefore = p[i-1] == '\r'
		}
		if crBefore {
			dst = append(dst, '\n')
		} else {
			dst = append(dst, '\r', '\n')
		}
		c.lineStart = true
		c.prevCR = false
		p = p[i+1:]
	}
	return dst
}

// track records the state after p passed unchanged.
func (c *wireWriter) track(p []byte) {
	last := p[len(p)-1]
	c.lineStart = last == '\n'
	c.prevCR = last == '\r'
}

// unchanged reports whether converting p would give p: every LF has a CR
// before it and no line starts with ".". It stops at the first line
// that needs a change, so an LF-only message costs one IndexByte here.
func (c *wireWriter) unchanged(p []byte) bool {
	if c.lineStart && p[0] == '.' {
		return false
	}
	prevCR := c.prevCR
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return true
		}
		if i > 0 {
			prevCR = p[i-1] == '\r'
		}
		if !prevCR || (i+1 < len(p) && p[i+1] == '.') {
			return false
		}
		p = p[i+1:]
		prevCR = false
	}
}

// end is the terminating line, after a CRLF when the message did not
// end with a line end.
func (c *wireWriter) end() string {
	if !c.lineStart {
		return "\r\n.\r\n"
	}
	return ".\r\n"
}

// appendEnd appends the terminating line to dst.
func (c *wireWriter) appendEnd(dst []byte) []byte { return append(dst, c.end()...) }

// close writes the terminating line.
func (c *wireWriter) close() error {
	_, err := io.WriteString(c.w, c.end())
	return err
}
