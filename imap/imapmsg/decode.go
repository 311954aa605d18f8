package imapmsg

import (
	"bufio"
	"io"
	"strings"
)

// decoderFor returns a reader that removes the transfer encoding enc from
// r, and false for an encoding it does not know (r may be nil to ask).
func decoderFor(enc string, r io.Reader) (io.Reader, bool) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "7bit", "8bit", "binary":
		return r, true
	case "base64":
		return &base64Reader{r: bufio.NewReaderSize(r, 8<<10)}, true
	case "quoted-printable":
		return &qpReader{r: bufio.NewReaderSize(r, 8<<10)}, true
	}
	return nil, false
}

// base64Reader decodes base64 leniently, as mail readers do: characters
// outside the alphabet are skipped, decoding stops at "=", and a final
// incomplete group yields the bytes it holds.
type base64Reader struct {
	r    *bufio.Reader
	acc  uint32
	n    int // sextets in acc
	out  [3]byte
	outN int // bytes of out not yet returned
	outI int
	done bool
}

func b64val(c byte) (uint32, bool) {
	switch {
	case 'A' <= c && c <= 'Z':
		return uint32(c - 'A'), true
	case 'a' <= c && c <= 'z':
		return uint32(c-'a') + 26, true
	case '0' <= c && c <= '9':
		return uint32(c-'0') + 52, true
	case c == '+':
		return 62, true
	case c == '/':
		return 63, true
	}
	return 0, false
}

func (d *base64Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if d.outI < d.outN {
			c := copy(p[n:], d.out[d.outI:d.outN])
			d.outI += c
			n += c
			continue
		}
		if d.done {
			break
		}
		c, err := d.r.ReadByte()
		if err != nil {
			if err != io.EOF {
				return n, err
			}
			d.flush()
			d.done = true
			continue
		}
		if c == '=' {
			d.flush()
			d.done = true
			continue
		}
		v, ok := b64val(c)
		if !ok {
			continue
		}
		d.acc = d.acc<<6 | v
		d.n++
		if d.n == 4 {
			d.out = [3]byte{byte(d.acc >> 16), byte(d.acc >> 8), byte(d.acc)}
			d.outI, d.outN, d.n, d.acc = 0, 3, 0, 0
		}
	}
	if n == 0 && d.done && d.outI >= d.outN {
		return 0, io.EOF
	}
	return n, nil
}

// flush turns a final incomplete group into its whole bytes.
func (d *base64Reader) flush() {
	switch d.n {
	case 2:
		d.out[0] = byte(d.acc >> 4)
		d.outI, d.outN = 0, 1
	case 3:
		d.out[0], d.out[1] = byte(d.acc>>10), byte(d.acc>>2)
		d.outI, d.outN = 0, 2
	}
	d.n, d.acc = 0, 0
}

// qpReader decodes quoted-printable (RFC 2045 6.7) leniently: trailing
// white space is dropped, "=" at the end of a line joins it to the next,
// "=XX" is a byte and any other "=" stays as it is. Line breaks come out
// as CRLF (the input is the CRLF view).
type qpReader struct {
	r    *bufio.Reader
	line []byte // decoded bytes waiting to be returned
	i    int
	eof  bool
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (d *qpReader) Read(p []byte) (int, error) {
	for d.i >= len(d.line) {
		if d.eof {
			return 0, io.EOF
		}
		if err := d.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, d.line[d.i:])
	d.i += n
	return n, nil
}

// fill decodes the next input line (or a buffer's worth of a long one).
func (d *qpReader) fill() error {
	raw, err := d.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		err = nil
	} else if err == io.EOF {
		d.eof = true
		err = nil
	}
	if err != nil {
		return err
	}
	d.line, d.i = d.line[:0], 0
	body, eol := raw, false
	if len(body) > 0 && body[len(body)-1] == '\n' {
		eol = true
		body = body[:len(body)-1]
		if len(body) > 0 && body[len(body)-1] == '\r' {
			body = body[:len(body)-1]
		}
	}
	if eol || d.eof {
		for len(body) > 0 && (body[len(body)-1] == ' ' || body[len(body)-1] == '\t') {
			body = body[:len(body)-1]
		}
	}
	soft := false
	if len(body) > 0 && body[len(body)-1] == '=' && (eol || d.eof) {
		soft = true
		body = body[:len(body)-1]
	}
	for j := 0; j < len(body); j++ {
		c := body[j]
		if c == '=' && j+2 < len(body) {
			if h, ok := unhex(body[j+1]); ok {
				if l, ok := unhex(body[j+2]); ok {
					d.line = append(d.line, h<<4|l)
					j += 2
					continue
				}
			}
		}
		d.line = append(d.line, c)
	}
	if eol && !soft {
		d.line = append(d.line, '\r', '\n')
	}
	return nil
}
