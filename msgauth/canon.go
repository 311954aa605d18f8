package msgauth

import (
	"bufio"
	"context"
	"io"
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
	b.WriteString(strings.ToLower(strings.TrimSpace(name))) // as go-msgauth: \f, \v too
	b.WriteByte(':')
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
	out     interface{ Write([]byte) (int, error) }
	relaxed bool
	crlfs   int  // line ends seen since the last content byte
	space   bool // relaxed: WSP pending inside the current line
	sawCR   bool // a CR ended the previous write
	wrote   bool // some content was written
	buf     []byte
}

func newBodyCanon(out interface{ Write([]byte) (int, error) }, canon string) *bodyCanon {
	return &bodyCanon{out: out, relaxed: canon == canonRelaxed, buf: make([]byte, 0, 2048)}
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
		i := 0
		for i < len(p) && !sp[p[i]] {
			i++
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
