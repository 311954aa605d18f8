package smtpwire

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// ParseBDAT parses the argument of "BDAT <size> [LAST]" (RFC 3030 2).
func ParseBDAT(arg string) (size int64, last bool, err error) {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 {
		return 0, false, ErrSyntax
	}
	if len(f[0]) > 18 {
		return 0, false, ErrSyntax
	}
	size, err = strconv.ParseInt(f[0], 10, 64)
	if err != nil || size < 0 || f[0][0] == '+' {
		return 0, false, ErrSyntax
	}
	if len(f) == 2 {
		if !strings.EqualFold(f[1], "LAST") {
			return 0, false, ErrSyntax
		}
		last = true
	}
	return size, last, nil
}

// ChunkReader returns a reader of exactly size bytes of BDAT chunk data
// from r; the chunk is binary and neither dot-stuffed nor terminated.
// Reading past the connection's end yields io.ErrUnexpectedEOF.
func ChunkReader(r *bufio.Reader, size int64) io.Reader {
	return &chunkReader{r: r, left: size}
}

type chunkReader struct {
	r    *bufio.Reader
	left int64
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// WriteTo writes the rest of the chunk to w straight from the
// connection's buffer (no copy buffer of its own, so io.Copy allocates
// nothing).
func (c *chunkReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for c.left > 0 {
		if c.r.Buffered() == 0 {
			if _, err := c.r.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return total, err
			}
		}
		buf, _ := c.r.Peek(int(min(int64(c.r.Buffered()), c.left)))
		n, err := w.Write(buf)
		c.r.Discard(n)
		c.left -= int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if n < len(buf) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}
