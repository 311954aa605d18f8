package smtpwire

import (
	"bufio"
)

// DotWriter writes message content for DATA: bare LFs become CRLF, a
// leading "." on a line is doubled (RFC 5321 4.5.2), and Close ends the
// content with a CRLF if needed and the "." line. It does not flush w.
type DotWriter struct {
	w      *bufio.Writer
	bol    bool
	prevCR bool
	closed bool
}

// NewDotWriter returns a DotWriter writing to w.
func NewDotWriter(w *bufio.Writer) *DotWriter { return &DotWriter{w: w, bol: true} }

// Write implements io.Writer.
func (d *DotWriter) Write(p []byte) (int, error) {
	for i, b := range p {
		if d.bol && b == '.' {
			d.w.WriteByte('.')
		}
		if b == '\n' && !d.prevCR {
			d.w.WriteByte('\r')
		}
		if err := d.w.WriteByte(b); err != nil {
			return i, err
		}
		d.bol = b == '\n'
		d.prevCR = b == '\r'
	}
	return len(p), nil
}

// Close writes the end of the data. It does not close the connection.
func (d *DotWriter) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if d.prevCR {
		d.w.WriteByte('\n')
	} else if !d.bol {
		d.w.WriteString("\r\n")
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}
