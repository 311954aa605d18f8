package imapmsg

import "bytes"

// Header is a parsed header block: its fields in order.
type Header []Field

// Field is one header field. Name is as written (case kept); Value is the
// raw value after the colon, unfolded (CRLF before continuation lines
// removed) with leading white space trimmed, not RFC 2047 decoded.
type Field struct {
	Name, Value string
	// Folded reports that the raw value spanned several lines; Dovecot
	// sends such values in ENVELOPE as literals.
	Folded bool
}

// Get returns the value of the first field named name (case-insensitive)
// and whether there is one.
func (h Header) Get(name string) (string, bool) {
	for _, f := range h {
		if equalFoldASCII(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Values returns the values of every field named name, in order.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h {
		if equalFoldASCII(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// parseHeader splits a raw header block into fields, unfolding
// continuation lines. Lines that are neither a field nor a continuation
// are skipped. At most max fields are kept.
func parseHeader(b []byte, max int) Header {
	var h Header
	var cur []byte // current field's raw bytes, folded
	flush := func() {
		if cur == nil {
			return
		}
		i := bytes.IndexByte(cur, ':')
		if i > 0 && len(h) < max {
			name := string(bytes.TrimRight(cur[:i], " \t"))
			raw := cur[i+1:]
			v := unfold(raw)
			folded := bytes.IndexByte(bytes.TrimRight(raw, "\r\n"), '\n') >= 0
			h = append(h, Field{Name: name, Value: v, Folded: folded})
		}
		cur = nil
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil {
				cur = append(cur, line...)
			}
			continue
		}
		flush()
		if bytes.IndexByte(line, ':') > 0 {
			cur = append([]byte(nil), line...)
		}
	}
	flush()
	return h
}

// unfold removes CR and LF from a raw field value and trims the white
// space before it (trailing white space is kept, as Dovecot keeps it).
func unfold(v []byte) string {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\n' {
			continue
		}
		if c == '\r' && (i+1 == len(v) || v[i+1] == '\n') {
			continue
		}
		out = append(out, c)
	}
	return string(bytes.TrimLeft(out, " \t"))
}
