package msgauth

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
)

// Canonicalization (RFC 6376 section 3.4), written here because the DKIM
// library keeps its own unexported; ARC (RFC 8617) signs with the same
// algorithms. Bare LF line ends count as CRLF, as everywhere in msgauth.

const (
	canonSimple  = "simple"
	canonRelaxed = "relaxed"
)

// canonHeader returns a header field (name, colon, value with folding,
// line end) in the given canonical form, ending in CRLF.
func canonHeader(raw, canon string) string {
	return string(appendCanonHeader(make([]byte, 0, len(raw)+2), raw, canon))
}

// appendCanonHeader appends canonHeader(raw, canon) to dst.
func appendCanonHeader(dst []byte, raw, canon string) []byte {
	if canon == canonSimple {
		// Every line end becomes CRLF; a missing final one is added.
		for len(raw) > 0 {
			i := strings.IndexByte(raw, '\n')
			if i < 0 {
				dst = append(dst, raw...)
				break
			}
			line := raw[:i]
			line = strings.TrimSuffix(line, "\r")
			dst = append(dst, line...)
			dst = append(dst, '\r', '\n')
			raw = raw[i+1:]
			if len(raw) == 0 {
				return dst
			}
		}
		return append(dst, '\r', '\n')
	}
	name, val, _ := strings.Cut(raw, ":")
	name = strings.TrimSpace(name) // as go-msgauth: \f, \v too
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
	} else {
		dst = append(dst, strings.ToLower(name)...)
	}
	dst = append(dst, ':')
	// CR and LF count as whitespace, as in go-msgauth (and so OpenDKIM
	// agrees on fields with stray CRs): unfolding removes the line break,
	// WSP runs become one SP, leading and trailing WSP goes.
	space, started := false, false
	for i := 0; i < len(val); i++ {
		c := val[i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			space = true
			continue
		}
		if space && started {
			dst = append(dst, ' ')
		}
		space, started = false, true
		dst = append(dst, c)
	}
	return append(dst, '\r', '\n')
}

// withoutB returns a signature field with the value of its b= tag
// deleted, surrounding whitespace included (RFC 6376 section 3.7).
func withoutB(raw string) string {
	colon := strings.IndexByte(raw, ':')
	if colon < 0 {
		return raw
	}
	var b []byte // built only when some b= has a value to drop
	last := 0    // raw[last:] is not yet in b
	for i := colon + 1; i <= len(raw); {
		end := strings.IndexByte(raw[i:], ';')
		if end < 0 {
			end = len(raw)
		} else {
			end += i
		}
		part := raw[i:end]
		if eq := strings.IndexByte(part, '='); eq >= 0 && stripFWS(part[:eq]) == "b" && eq+1 < len(part) {
			if b == nil {
				b = make([]byte, 0, len(raw))
			}
			b = append(b, raw[last:i+eq+1]...)
			last = end
		}
		i = end + 1
	}
	if b == nil {
		return raw
	}
	return string(append(b, raw[last:]...))
}

// bodyCanon is an io.Writer that canonicalizes a message body in the
// simple or relaxed form (RFC 6376 sections 3.4.3 and 3.4.4) as it
// streams into out: trailing empty lines are held back and dropped at
// the end, so memory does not grow with the body.
type bodyCanon struct {
	out     interface{ Write([]byte) (int, error) }
	relaxed bool
	crlfs   int  // line ends seen since the last content byte
	space   bool // relaxed: WSP pending inside the current line
	sawCR   bool // a CR ended the previous write
	wrote   bool // some content was written
	buf     []byte
}

// canonBufs keeps the bodyCanon buffers, returned by Close.
var canonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func newBodyCanon(out interface{ Write([]byte) (int, error) }, canon string) *bodyCanon {
	return &bodyCanon{out: out, relaxed: canon == canonRelaxed, buf: (*canonBufs.Get().(*[]byte))[:0]}
}

var crlfs = []byte(strings.Repeat("\r\n", 64))

// special marks the bytes the canonicalizers look at: line ends always,
// WSP in relaxed mode (index 1).
var special = func() (t [2][256]bool) {
	for m := 0; m < 2; m++ {
		t[m]['\r'], t[m]['\n'] = true, true
	}
	t[1][' '], t[1]['\t'] = true, true
	return t
}()

// content appends a run of ordinary bytes, after the line ends and the
// space held back before it.
func (c *bodyCanon) content(run []byte) {
	for c.crlfs > 0 {
		n := min(c.crlfs, 64)
		c.buf = append(c.buf, crlfs[:2*n]...)
		c.crlfs -= n
		if len(c.buf) >= 2048 {
			c.flush()
		}
	}
	if c.space {
		c.buf = append(c.buf, ' ')
		c.space = false
	}
	c.wrote = true
	if len(c.buf)+len(run) > cap(c.buf) {
		// A long run goes out as it is rather than growing buf.
		c.flush()
		if len(run) >= cap(c.buf) {
			c.out.Write(run)
			return
		}
	}
	c.buf = append(c.buf, run...)
	if len(c.buf) >= 2048 {
		c.flush()
	}
}

func (c *bodyCanon) flush() {
	if len(c.buf) > 0 {
		c.out.Write(c.buf)
		c.buf = c.buf[:0]
	}
}

func (c *bodyCanon) lineEnd() {
	c.crlfs++
	c.space = false
}

var bareCR = []byte{'\r'}

// Write canonicalizes p; it never fails.
func (c *bodyCanon) Write(p []byte) (int, error) {
	n := len(p)
	mode := 0
	if c.relaxed {
		mode = 1
	}
	sp := &special[mode]
	for len(p) > 0 {
		if c.sawCR {
			c.sawCR = false
			if p[0] == '\n' {
				c.lineEnd()
				p = p[1:]
				continue
			}
			c.content(bareCR) // a bare CR is ordinary text
		}
		// The run of ordinary bytes; in relaxed mode a single SP
		// between two ordinary bytes is kept as it is, so that a line
		// of text is one run.
		i := 0
		for i < len(p) {
			if !sp[p[i]] {
				i++
				continue
			}
			if mode == 1 && p[i] == ' ' && i > 0 && i+1 < len(p) && !sp[p[i+1]] {
				i += 2
				continue
			}
			break
		}
		if i > 0 {
			c.content(p[:i])
			p = p[i:]
			continue
		}
		switch p[0] {
		case '\r':
			c.sawCR = true
		case '\n':
			c.lineEnd()
		default: // relaxed WSP
			c.space = true
		}
		p = p[1:]
	}
	return n, nil
}

// Close ends the body: a final line end after content (added when the
// body did not end in one), "\r\n" for an empty simple body, nothing for
// an empty relaxed body.
func (c *bodyCanon) Close() error {
	if c.sawCR {
		c.sawCR = false
		c.content(bareCR)
	}
	c.space = false
	c.flush()
	if c.buf != nil {
		b := c.buf[:0]
		c.buf = nil
		canonBufs.Put(&b)
	}
	switch {
	case c.wrote:
		c.out.Write(crlfs[:2])
	case !c.relaxed:
		c.out.Write(crlfs[:2])
	}
	return nil
}

// copyBody writes the rest of br to w through br's own buffer (io.Copy
// would allocate 32 KiB per message), stopping when ctx is done.
func copyBody(ctx context.Context, w io.Writer, br *bufio.Reader) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := br.Peek(br.Size())
		if len(b) > 0 {
			if _, werr := w.Write(b); werr != nil {
				return werr
			}
			br.Discard(len(b))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
