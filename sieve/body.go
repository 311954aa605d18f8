package sieve

import (
	"bytes"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
)

// bodyPart is one leaf MIME part: its media type and decoded text.
type bodyPart struct {
	ctype string // "type/subtype", lowercased
	text  string
}

// maxBodyParts bounds how many MIME parts the body test looks at.
const maxBodyParts = 100

// bodyParts decodes the message's leaf parts once (RFC 5173 section 5).
func (m *Message) bodyParts(limit int) []bodyPart {
	m.once.Do(func() {
		ent, err := message.Read(bytes.NewReader(m.raw))
		if ent == nil {
			m.parts = []bodyPart{{ctype: "text/plain", text: string(m.body)}}
			return
		}
		_ = err
		var walk func(e *message.Entity, depth int)
		walk = func(e *message.Entity, depth int) {
			if len(m.parts) >= maxBodyParts || depth > 10 {
				return
			}
			ct, _, err := e.Header.ContentType()
			if err != nil || ct == "" {
				ct = "text/plain"
			}
			ct = strings.ToLower(ct)
			if mr := e.MultipartReader(); mr != nil {
				m.parts = append(m.parts, bodyPart{ctype: ct})
				for {
					p, err := mr.NextPart()
					if err != nil {
						break
					}
					walk(p, depth+1)
				}
				return
			}
			b, _ := io.ReadAll(io.LimitReader(e.Body, int64(limit)))
			m.parts = append(m.parts, bodyPart{ctype: ct, text: string(b)})
		}
		walk(ent, 0)
	})
	return m.parts
}

// body runs the body test.
func (r *run) body(c *call) (bool, error) {
	var vals []string
	switch {
	case c.has("raw"):
		b := r.msg.body
		if len(b) > r.limits.MaxStringSize {
			b = b[:r.limits.MaxStringSize]
		}
		vals = []string{string(b)}
	case c.has("content"):
		types := r.strs(c.tags["content"])
		for _, p := range r.msg.bodyParts(r.limits.MaxStringSize) {
			if contentMatches(p.ctype, types) {
				if strings.HasPrefix(p.ctype, "multipart/") {
					continue
				}
				vals = append(vals, p.text)
			}
		}
	default: // :text
		for _, p := range r.msg.bodyParts(r.limits.MaxStringSize) {
			if strings.HasPrefix(p.ctype, "text/") {
				t := p.text
				if p.ctype == "text/html" {
					t = htmlText(t)
				}
				vals = append(vals, t)
			}
		}
	}
	return r.match(c, vals)
}

// contentMatches applies :content's type list: "" matches all, "type"
// its subtypes, "type/sub" exactly.
func contentMatches(ct string, types []string) bool {
	for _, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			return true
		}
		if strings.Contains(t, "/") {
			if mt, _, err := mime.ParseMediaType(t); err == nil && mt == ct {
				return true
			}
			continue
		}
		if strings.HasPrefix(ct, t+"/") {
			return true
		}
	}
	return false
}

// htmlText strips tags from HTML for the :text transform.
func htmlText(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			in = true
		case c == '>':
			in = false
		case !in:
			b.WriteByte(c)
		}
	}
	return b.String()
}
