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
// and dotWriter.
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
		last := p[n-1]
		c.lineStart = last == '\n'
		c.prevCR = last == '\r'
		if _, err := c.w.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	out := c.out[:0]
	for len(p) > 0 {
		if c.lineStart && p[0] == '.' {
			out = append(out, '.')
		}
		c.lineStart = false
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			out = append(out, p...)
			c.prevCR = p[len(p)-1] == '\r'
			break
		}
		out = append(out, p[:i]...)
		crBefore := c.prevCR
		if i > 0 {
			crBefore = p[i-1] == '\r'
		}
		if crBefore {
			out = append(out, '\n')
		} else {
			out = append(out, '\r', '\n')
		}
		c.lineStart = true
		c.prevCR = false
		p = p[i+1:]
	}
	c.out = out
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
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

// close writes the terminating line.
func (c *wireWriter) close() error {
	end := ".\r\n"
	if !c.lineStart {
		end = "\r\n.\r\n"
	}
	_, err := io.WriteString(c.w, end)
	return err
}
