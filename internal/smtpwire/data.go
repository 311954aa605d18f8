package smtpwire

import (
	"bufio"
	"bytes"
	"io"
)

// BareLFMode says what a DataReader does with lines ending in a bare LF.
type BareLFMode int

const (
	// BareLFNormalize accepts a bare LF and yields CRLF in its place; only
	// <CRLF>.<CRLF> ends the data (Postfix's "normalize").
	BareLFNormalize BareLFMode = iota
	// BareLFReject makes Read fail with ErrBareLF at the first bare LF
	// (Discard still reads up to <CRLF>.<CRLF>).
	BareLFReject
)

// DataReader reads the text of an SMTP DATA command (RFC 5321 4.1.1.4):
// lines up to the terminating ".", with the leading dot of dot-stuffed
// lines removed (4.5.2). It yields the message with CRLF line endings and
// returns io.EOF after the terminator. See the package documentation for
// bare LF and size handling.
type DataReader struct {
	r *bufio.Reader
	// MaxSize is the largest message Read yields before failing with
	// ErrTooBig; 0 means no limit.
	MaxSize int64
	// BareLF is the bare LF policy.
	BareLF BareLFMode

	n        int64
	bol      bool // at the beginning of a line
	prevCRLF bool // the previous line ended in CRLF (true at the start)
	out      []byte
	crlf     bool // owe "\r\n" after out
	err      error
	sawBare  bool
	tooBig   bool
	done     bool // terminator consumed (or the connection failed)
}

// NewDataReader returns a reader of the DATA text that follows on r.
func NewDataReader(r *bufio.Reader) *DataReader {
	return &DataReader{r: r, bol: true, prevCRLF: true}
}

// Size returns the number of message bytes yielded so far.
func (d *DataReader) Size() int64 { return d.n }

// TooBig reports whether the data went over MaxSize.
func (d *DataReader) TooBig() bool { return d.tooBig }

// SawBareLF reports whether a bare LF has been seen.
func (d *DataReader) SawBareLF() bool { return d.sawBare }

// Read implements io.Reader.
func (d *DataReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 && !d.crlf && d.err == nil {
		d.next()
	}
	if len(d.out) == 0 && !d.crlf {
		return 0, d.err
	}
	n := 0
	if len(d.out) > 0 {
		n = copy(p, d.out)
		d.out = d.out[n:]
	}
	if len(d.out) == 0 && d.crlf && len(p)-n >= 2 {
		p[n], p[n+1] = '\r', '\n'
		n += 2
		d.crlf = false
	} else if len(d.out) == 0 && d.crlf && n == 0 {
		// p is too small for the pair; hand out one byte at a time.
		p[0] = '\r'
		d.out = []byte{'\n'}
		d.crlf = false
		n = 1
	}
	d.n += int64(n)
	if d.MaxSize > 0 && d.n > d.MaxSize {
		d.out, d.crlf = nil, false
		d.tooBig = true
		if d.err == nil || d.err == io.EOF {
			d.err = ErrTooBig
		}
		return 0, ErrTooBig
	}
	return n, nil
}

// WriteTo writes the rest of the data to w straight from the
// connection's buffer (so io.Copy needs no buffer of its own), with the
// same results as reading it with Read: ErrTooBig past MaxSize, ErrBareLF
// in BareLFReject mode, nil at the terminator.
func (d *DataReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(d.out) == 0 && !d.crlf && d.err == nil {
			d.next()
		}
		if len(d.out) == 0 && !d.crlf {
			if d.err == io.EOF {
				return total, nil
			}
			return total, d.err
		}
		n := int64(len(d.out))
		if d.crlf {
			n += 2
		}
		if d.MaxSize > 0 && d.n+n > d.MaxSize {
			d.n += n
			d.out, d.crlf = nil, false
			d.tooBig = true
			if d.err == nil || d.err == io.EOF {
				d.err = ErrTooBig
			}
			return total, ErrTooBig
		}
		d.n += n
		if len(d.out) > 0 {
			m, err := w.Write(d.out)
			total += int64(m)
			d.out = d.out[m:]
			if err != nil {
				return total, err
			}
		}
		if d.crlf {
			d.crlf = false
			m, err := w.Write(crlf)
			total += int64(m)
			if err != nil {
				return total, err
			}
		}
	}
}

var crlf = []byte("\r\n")

// next consumes one line or line fragment from the connection.
func (d *DataReader) next() {
	frag, err := d.r.ReadSlice('\n')
	if err != nil && err != bufio.ErrBufferFull {
		d.done = true
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.err = err
		return
	}
	complete := err == nil
	if d.bol {
		if len(frag) == 3 && frag[0] == '.' && frag[1] == '\r' && frag[2] == '\n' && d.prevCRLF {
			d.done = true
			if d.err == nil {
				d.err = io.EOF
			}
			return
		}
		if len(frag) > 0 && frag[0] == '.' {
			frag = frag[1:]
		}
	}
	if !complete {
		// A line longer than the buffer. A CR at its end may be the
		// start of the CRLF: it goes back to be read with what follows.
		d.bol = false
		if n := len(frag); n > 0 && frag[n-1] == '\r' && d.r.UnreadByte() == nil {
			frag = frag[:n-1]
		}
		bareCRToSpace(frag)
		d.out = frag
		return
	}
	d.bol = true
	body := frag[:len(frag)-1]
	cr := bytes.IndexByte(frag, '\r')
	if cr >= 0 && cr == len(body)-1 {
		// The common line: its only CR is the one of its CRLF.
		d.prevCRLF = true
		d.out = frag
		return
	}
	n := len(body)
	for n > 0 && body[n-1] == '\r' {
		n--
	}
	if cr >= 0 {
		bareCRToSpace(body[cr:n])
	}
	if n < len(body) {
		// CRLF, or CRs and LF: one line end, as Postfix strips a
		// line's trailing CRs.
		d.prevCRLF = true
		if n == len(body)-1 {
			d.out = frag
		} else {
			d.out = body[:n]
			d.crlf = true
		}
		return
	}
	// A bare LF.
	d.sawBare = true
	if d.BareLF == BareLFReject && d.err == nil {
		d.err = ErrBareLF
	}
	d.prevCRLF = false
	d.out = body
	d.crlf = true
}

// bareCRToSpace replaces each CR of a line (its line end removed) by a
// space, in place, as Postfix 3.7's smtpd stores it: a CR is never a
// line end and never reaches the stored message alone, so nothing like
// "\r.\r\n" can end the data at a next hop that takes a CR for a line
// end (SMTP smuggling).
func bareCRToSpace(b []byte) {
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		b[i] = ' '
		j := bytes.IndexByte(b[i+1:], '\r')
		if j < 0 {
			return
		}
		i += 1 + j
	}
}

// Discard reads and drops the rest of the data up to and including the
// terminator, whatever Read returned, through the connection's buffer
// only. It returns nil when the terminator was found and the connection's
// error (io.ErrUnexpectedEOF for a vanished client) otherwise.
func (d *DataReader) Discard() error {
	for !d.done {
		d.out, d.crlf = nil, false
		d.next()
	}
	if d.err == io.EOF || d.err == ErrTooBig || d.err == ErrBareLF {
		return nil
	}
	return d.err
}

// Done reports whether the terminator (or a connection error) was read.
func (d *DataReader) Done() bool { return d.done }
