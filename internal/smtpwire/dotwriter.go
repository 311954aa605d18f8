package smtpwire

import (
	"bufio"
	"bytes"
	"io"
)

// DotWriter writes message content for DATA (RFC 5321 4.5.2) so that
// nothing in the content can end the data early, at this server or at a
// lenient one further on:
//
//   - every line ending becomes CRLF: CRLF stays, and a bare LF or a bare
//     CR is replaced by CRLF (so "\r\r\n" is two line endings), the way
//     Postfix's smtp client sends only CRLF lines;
//   - a "." at the start of a line is doubled;
//   - Close ends the last line with CRLF if needed and writes ".\r\n".
//
// The output therefore contains CR and LF only as CRLF pairs, and
// "<CRLF>.<CRLF>" only at the end: the SMTP smuggling sequences of 2023
// ("\n.\n", "\r\n.\r", "\r.\r\n", "\n.\r\n"...) in the content come out
// as harmless, dot-stuffed lines. It does not flush w.
type DotWriter struct {
	w      *bufio.Writer
	bol    bool // at the start of an output line
	skipLF bool // the last input byte was a CR, already written as CRLF
	closed bool
}

// NewDotWriter returns a DotWriter writing to w.
func NewDotWriter(w *bufio.Writer) *DotWriter { return &DotWriter{w: w, bol: true} }

// Write implements io.Writer. Runs of bytes without CR or LF are copied
// whole.
func (d *DotWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if d.skipLF && p[0] == '\n' {
			d.skipLF = false
			p = p[1:]
			n++
			continue
		}
		d.skipLF = false
		i := indexCRLF(p)
		if i != 0 && d.bol && p[0] == '.' {
			d.w.WriteByte('.')
		}
		if i < 0 {
			if _, err := d.w.Write(p); err != nil {
				return n, err
			}
			d.bol = false
			return n + len(p), nil
		}
		if i > 0 {
			d.w.Write(p[:i])
		}
		if _, err := d.w.WriteString("\r\n"); err != nil {
			return n, err
		}
		d.bol, d.skipLF = true, p[i] == '\r'
		n += i + 1
		p = p[i+1:]
	}
	return n, nil
}

// indexCRLF returns the index of the first CR or LF in p, -1 if none.
func indexCRLF(p []byte) int {
	i := bytes.IndexByte(p, '\n')
	head := p
	if i >= 0 {
		head = p[:i]
	}
	if j := bytes.IndexByte(head, '\r'); j >= 0 {
		return j
	}
	return i
}

// Close writes the end of the data. It does not close the connection.
func (d *DotWriter) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	if !d.bol {
		d.w.WriteString("\r\n")
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}

// CRLFReader returns a reader of r's bytes with every line ending made
// CRLF as DotWriter makes it (a bare LF or bare CR becomes CRLF), without
// dot-stuffing: the content of BDAT chunks (RFC 3030), so that a message
// is the same bytes over DATA and BDAT.
func CRLFReader(r io.Reader) io.Reader { return &crlfReader{r: r} }

type crlfReader struct {
	r      io.Reader
	in     [2048]byte
	norm   [4096]byte // room for in, every byte doubled
	out    []byte     // normalised bytes not yet returned
	skipLF bool
	err    error
}

// indexCRorLF returns the index of the first CR or LF in b, -1 when
// there is none (two IndexByte scans instead of a byte loop).
func indexCRorLF(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	end := i
	if end < 0 {
		end = len(b)
	}
	if j := bytes.IndexByte(b[:end], '\r'); j >= 0 {
		return j
	}
	return i
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.in[:])
		c.err = err
		out := c.norm[:0]
		in := c.in[:n]
		for len(in) > 0 {
			if c.skipLF {
				// The LF of a CRLF whose CR ended the last run.
				c.skipLF = false
				if in[0] == '\n' {
					in = in[1:]
				}
				continue
			}
			i := indexCRorLF(in)
			if i < 0 {
				out = append(out, in...)
				break
			}
			out = append(out, in[:i]...)
			out = append(out, '\r', '\n')
			c.skipLF = in[i] == '\r'
			in = in[i+1:]
		}
		c.out = out
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}
