package store

import (
	"bufio"
	"io"
)

// NewCRLFReader returns a reader that yields r's bytes with every bare LF
// (one not preceded by CR) turned into CRLF: the form IMAP, POP3 and SMTP
// put on the wire, whose length MessageInfo.Size reports. Bare CRs and all
// other bytes (NUL, 8-bit) pass through unchanged.
func NewCRLFReader(r io.Reader) io.Reader {
	return &crlfReader{r: bufio.NewReaderSize(r, 32<<10)}
}

type crlfReader struct {
	r       *bufio.Reader
	prevCR  bool
	pending bool // an LF is owed after an inserted CR
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.pending {
			p[n] = '\n'
			n++
			c.pending = false
			c.prevCR = false
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\n' && !c.prevCR {
			p[n] = '\r'
			n++
			c.pending = true
			continue
		}
		p[n] = b
		n++
		c.prevCR = b == '\r'
	}
	return n, nil
}

// CRLFSize returns the number of bytes NewCRLFReader would yield for r:
// the RFC822.SIZE of a message stored with bare LFs.
func CRLFSize(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var n int64
	prevCR := false
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		if b == '\n' && !prevCR {
			n++
		}
		prevCR = b == '\r'
	}
}
