package msgauth

import (
	"strings"
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
	if canon == canonSimple {
		s := strings.ReplaceAll(raw, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\n", "\r\n")
		if !strings.HasSuffix(s, "\r\n") {
			s += "\r\n"
		}
		return s
	}
	name, val, _ := strings.Cut(raw, ":")
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(strings.ToLower(strings.TrimRight(name, " \t")))
	b.WriteByte(':')
	space, started := false, false
	for i := 0; i < len(val); i++ {
		c := val[i]
		switch {
		case c == '\n', c == '\r' && i+1 < len(val) && val[i+1] == '\n':
			// Unfold: the line break goes, the WSP after it stays.
			continue
		case c == ' ' || c == '\t':
			space = true
			continue
		}
		if space && started {
			b.WriteByte(' ')
		}
		space, started = false, true
		b.WriteByte(c)
	}
	b.WriteString("\r\n")
	return b.String()
}

// withoutB returns a signature field with the value of its b= tag
// deleted, surrounding whitespace included (RFC 6376 section 3.7).
func withoutB(raw string) string {
	name, val, ok := strings.Cut(raw, ":")
	if !ok {
		return raw
	}
	parts := strings.Split(val, ";")
	for i, p := range parts {
		eq := strings.IndexByte(p, '=')
		if eq < 0 {
			continue
		}
		if stripFWS(p[:eq]) == "b" {
			parts[i] = p[:eq+1]
		}
	}
	return name + ":" + strings.Join(parts, ";")
}

// bodyCanon is an io.Writer that canonicalizes a message body in the
// simple or relaxed form (RFC 6376 sections 3.4.3 and 3.4.4) as it
// streams into out: trailing empty lines are held back and dropped at
// the end, so memory does not grow with the body.
type bodyCanon struct {
	out       interface{ Write([]byte) (int, error) }
	relaxed   bool
	crlfs     int  // line ends seen since the last content byte
	space     bool // relaxed: WSP pending inside the current line
	sawCR     bool // a CR ended the previous write
	wrote     bool // some content was written
	lineBegun bool // the current line has content (relaxed: non-WSP)
	buf       []byte
}

func newBodyCanon(out interface{ Write([]byte) (int, error) }, canon string) *bodyCanon {
	return &bodyCanon{out: out, relaxed: canon == canonRelaxed, buf: make([]byte, 0, 4096)}
}

var crlfs = []byte(strings.Repeat("\r\n", 64))

func (c *bodyCanon) content(b byte) {
	if c.crlfs > 0 {
		c.flush()
		for c.crlfs > 0 {
			n := min(c.crlfs, 64)
			c.out.Write(crlfs[:2*n])
			c.crlfs -= n
		}
	}
	if c.space {
		c.buf = append(c.buf, ' ')
		c.space = false
	}
	c.buf = append(c.buf, b)
	if len(c.buf) >= 4000 {
		c.flush()
	}
	c.wrote, c.lineBegun = true, true
}

func (c *bodyCanon) flush() {
	if len(c.buf) > 0 {
		c.out.Write(c.buf)
		c.buf = c.buf[:0]
	}
}

func (c *bodyCanon) lineEnd() {
	c.crlfs++
	c.space, c.lineBegun = false, false
}

// Write canonicalizes p; it never fails.
func (c *bodyCanon) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		b := p[i]
		if c.sawCR {
			c.sawCR = false
			if b == '\n' {
				c.lineEnd()
				continue
			}
			c.content('\r') // a bare CR is ordinary text
		}
		switch {
		case b == '\r':
			c.sawCR = true
		case b == '\n':
			c.lineEnd()
		case c.relaxed && (b == ' ' || b == '\t'):
			c.space = true
		default:
			c.content(b)
		}
	}
	return len(p), nil
}

// Close ends the body: a final line end after content (added when the
// body did not end in one), "\r\n" for an empty simple body, nothing for
// an empty relaxed body.
func (c *bodyCanon) Close() error {
	if c.sawCR {
		c.sawCR = false
		c.content('\r')
	}
	c.space = false
	c.flush()
	switch {
	case c.wrote:
		c.out.Write(crlfs[:2])
	case !c.relaxed:
		c.out.Write(crlfs[:2])
	}
	return nil
}
