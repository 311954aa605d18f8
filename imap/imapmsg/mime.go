package imapmsg

import (
	"sort"
	"strconv"
	"strings"
)

// describe fills a part's MIME description from its header.
func (p *parser) describe(part *Part, h Header, digest bool) {
	part.Type, part.Subtype = "text", "plain"
	if digest {
		part.Type, part.Subtype = "message", "rfc822"
	}
	if v, ok := h.Get("Content-Type"); ok {
		if t, st, params := parseMediaType(v); t != "" {
			part.Type, part.Subtype, part.Params = t, st, params
		}
	}
	if v, ok := h.Get("Content-Transfer-Encoding"); ok {
		part.Encoding = firstToken(v)
	}
	if v, ok := h.Get("Content-ID"); ok {
		part.ID = v
	}
	if v, ok := h.Get("Content-Description"); ok {
		part.Description = v
	}
	if v, ok := h.Get("Content-MD5"); ok {
		part.MD5 = v
	}
	if v, ok := h.Get("Content-Location"); ok {
		part.Location = v
	}
	if v, ok := h.Get("Content-Disposition"); ok {
		s := newScanner(v)
		s.skipCFWS()
		if d := s.token(); d != "" {
			part.Disposition = d
			part.DispositionParams = parseParams(s)
		}
	}
	if v, ok := h.Get("Content-Language"); ok {
		for _, t := range strings.Split(v, ",") {
			s := newScanner(t)
			s.skipCFWS()
			if tok := s.token(); tok != "" {
				part.Language = append(part.Language, tok)
			}
		}
	}
}

// firstToken returns the first token of a structured field.
func firstToken(v string) string {
	s := newScanner(v)
	s.skipCFWS()
	return s.token()
}

// parseMediaType parses "type/subtype; name=value ...", keeping the case
// of type and subtype. Without "/", subtype is "" and there are no
// parameters; an empty type means no usable value.
func parseMediaType(v string) (typ, sub string, params []Param) {
	s := newScanner(v)
	s.skipCFWS()
	typ = s.token()
	s.skipCFWS()
	if typ == "" || !s.consume('/') {
		return typ, "", nil
	}
	s.skipCFWS()
	sub = s.token()
	return typ, sub, parseParams(s)
}

// parseParams parses ";name=value" pairs up to the end of s, the way
// Dovecot lists them: plain parameters in header order, names as written;
// then RFC 2231 parameters (name*, name*0, name*1*, ...) grouped by name
// and sorted, each group joined into one "name" (no extended segment) or
// "name*" (charset'language'percent-encoded) parameter. A malformed
// parameter ends the list.
func parseParams(s *scanner) []Param {
	type seg struct {
		base string
		n    int
		val  string
		ext  bool
	}
	var out []Param
	var segs []seg
	for {
		s.skipCFWS()
		if !s.consume(';') {
			break
		}
		s.skipCFWS()
		name := s.token()
		if name == "" {
			if s.done() {
				break
			}
			continue
		}
		s.skipCFWS()
		if !s.consume('=') {
			break
		}
		s.skipCFWS()
		var val string
		if s.peek() == '"' {
			val = s.quoted()
		} else {
			val = s.token()
		}
		i := strings.IndexByte(name, '*')
		if i <= 0 {
			out = append(out, Param{Name: name, Value: val})
			continue
		}
		base, rest := name[:i], name[i+1:]
		ext := strings.HasSuffix(rest, "*") || rest == ""
		rest = strings.TrimSuffix(rest, "*")
		n := 0
		if rest != "" {
			var err error
			if n, err = strconv.Atoi(rest); err != nil || n < 0 || n > 9999 {
				out = append(out, Param{Name: name, Value: val})
				continue
			}
		}
		segs = append(segs, seg{base, n, val, ext})
	}
	sort.SliceStable(segs, func(i, j int) bool {
		a, b := strings.ToLower(segs[i].base), strings.ToLower(segs[j].base)
		if a != b {
			return a < b
		}
		return segs[i].n < segs[j].n
	})
	for i := 0; i < len(segs); {
		j := i
		ext := false
		for j < len(segs) && equalFoldASCII(segs[j].base, segs[i].base) {
			ext = ext || segs[j].ext
			j++
		}
		var b strings.Builder
		for k := i; k < j; k++ {
			switch {
			case !ext || segs[k].ext:
				b.WriteString(segs[k].val)
			default:
				if k == i {
					b.WriteString("''")
				}
				b.WriteString(percentEncode(segs[k].val))
			}
		}
		name := segs[i].base
		if ext {
			name += "*"
		}
		out = append(out, Param{Name: name, Value: b.String()})
		i = j
	}
	return out
}

// percentEncode encodes what RFC 2231 does not allow bare in an extended
// value.
func percentEncode(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '%' || c == '*' || c == '\'' || isTSpecial(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// scanner walks a structured header value (RFC 5322 / RFC 2045 tokens).
type scanner struct {
	s string
	i int
}

func newScanner(s string) *scanner { return &scanner{s: s} }

func (s *scanner) done() bool { return s.i >= len(s.s) }

func (s *scanner) peek() byte {
	if s.i < len(s.s) {
		return s.s[s.i]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c && !s.done() {
		s.i++
		return true
	}
	return false
}

// skipCFWS skips white space and (nested) comments.
func (s *scanner) skipCFWS() {
	for !s.done() {
		switch s.s[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '(':
			s.comment()
		default:
			return
		}
	}
}

// comment skips a comment and returns its text.
func (s *scanner) comment() string {
	depth := 0
	var b strings.Builder
	for !s.done() {
		c := s.s[s.i]
		s.i++
		switch c {
		case '\\':
			if !s.done() {
				b.WriteByte(s.s[s.i])
				s.i++
			}
			continue
		case '(':
			depth++
			if depth == 1 {
				continue
			}
		case ')':
			depth--
			if depth == 0 {
				return b.String()
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isTSpecial(c byte) bool {
	return strings.IndexByte("()<>@,;:\\\"/[]?=", c) >= 0
}

// token reads a MIME token (8-bit bytes accepted).
func (s *scanner) token() string {
	st := s.i
	for !s.done() {
		c := s.s[s.i]
		if c <= ' ' || c == 0x7f || isTSpecial(c) {
			break
		}
		s.i++
	}
	return s.s[st:s.i]
}

// quoted reads a quoted-string and returns its content unescaped. An
// unterminated string runs to the end.
func (s *scanner) quoted() string {
	if !s.consume('"') {
		return ""
	}
	var b strings.Builder
	for !s.done() {
		c := s.s[s.i]
		s.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if !s.done() {
				b.WriteByte(s.s[s.i])
				s.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
