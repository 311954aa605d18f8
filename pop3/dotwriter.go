package pop3

import (
	"bytes"
	"io"
)

// dotWriter writes a multi-line response body (RFC 1939 section 3): a
// line that starts with "." gets another "." in front, and Close ends
// the body with ".\r\n", adding a CRLF first when the body did not end
// with one. Input is expected in CRLF form already.
type dotWriter struct {
	w         io.Writer
	lineStart bool
}

func newDotWriter(w io.Writer) *dotWriter { return &dotWriter{w: w, lineStart: true} }

func (d *dotWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if d.lineStart && p[0] == '.' {
			if _, err := d.w.Write([]byte{'.'}); err != nil {
				return written, err
			}
		}
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i+1]
		}
		n, err := d.w.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		d.lineStart = i >= 0
		p = p[len(chunk):]
	}
	return written, nil
}

// Close writes the terminating line.
func (d *dotWriter) Close() error {
	end := ".\r\n"
	if !d.lineStart {
		end = "\r\n.\r\n"
	}
	_, err := io.WriteString(d.w, end)
	return err
}
