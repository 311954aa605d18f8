package smtpwire

import (
	"bufio"
	"bytes"
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

// Write implements io.Writer. Lines are copied whole; only line starts
// and ends are looked at.
func (d *DotWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if d.bol && p[0] == '.' {
			d.w.WriteByte('.')
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if _, err := d.w.Write(p); err != nil {
				return n, err
			}
			d.bol, d.prevCR = false, p[len(p)-1] == '\r'
			return n + len(p), nil
		}
		cr := d.prevCR
		if i > 0 {
			cr = p[i-1] == '\r'
		}
		d.w.Write(p[:i])
		if !cr {
			d.w.WriteByte('\r')
		}
		if err := d.w.WriteByte('\n'); err != nil {
			return n, err
		}
		n += i + 1
		p = p[i+1:]
		d.bol, d.prevCR = true, false
	}
	return n, nil
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
