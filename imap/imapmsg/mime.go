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
		if t, st, params, ok := parseMediaType(v); ok {
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

// parseMediaType parses "type/subtype; name=value ...", lower-casing
// type and subtype.
func parseMediaType(v string) (typ, sub string, params []Param, ok bool) {
	s := newScanner(v)
	s.skipCFWS()
	typ = s.token()
	s.skipCFWS()
	if typ == "" || !s.consume('/') {
		return "", "", nil, false
	}
	s.skipCFWS()
	sub = s.token()
	if sub == "" {
		return "", "", nil, false
	}
	return strings.ToLower(typ), strings.ToLower(sub), parseParams(s), true
}

// parseParams parses ";name=value" pairs up to the end of s, joining
// RFC 2231 continuations (name*0, name*1*, ...). A malformed parameter
// ends the list.
func parseParams(s *scanner) []Param {
	type cont struct {
		n   int
		val string
		ext bool
	}
	var out []Param
	conts := map[string][]cont{}
	var order []string
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
		name = strings.ToLower(name)
		if i := strings.IndexByte(name, '*'); i > 0 {
			base, rest := name[:i], name[i+1:]
			ext := strings.HasSuffix(rest, "*") || rest == ""
			rest = strings.TrimSuffix(rest, "*")
			n := 0
			if rest != "" {
				var err error
				if n, err = strconv.Atoi(rest); err != nil || n < 0 || n > 999 {
					out = append(out, Param{Name: name, Value: val})
					continue
				}
			}
			if _, seen := conts[base]; !seen {
				order = append(order, base)
				out = append(out, Param{Name: base}) // placeholder
			}
			conts[base] = append(conts[base], cont{n, val, ext})
			continue
		}
		out = append(out, Param{Name: name, Value: val})
	}
	for _, base := range order {
		cs := conts[base]
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].n < cs[j].n })
		var b strings.Builder
		ext := false
		for _, c := range cs {
			b.WriteString(c.val)
			ext = ext || c.ext
		}
		for i := range out {
			if out[i].Name == base && out[i].Value == "" {
				if ext {
					out[i].Name = base + "*"
				}
				out[i].Value = b.String()
				break
			}
		}
	}
	return out
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
