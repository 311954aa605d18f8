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

// Write converts p and writes the result.
func (c *wireWriter) Write(p []byte) (int, error) {
	n := len(p)
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

// close writes the terminating line.
func (c *wireWriter) close() error {
	end := ".\r\n"
	if !c.lineStart {
		end = "\r\n.\r\n"
	}
	_, err := io.WriteString(c.w, end)
	return err
}
