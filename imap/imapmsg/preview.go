package imapmsg

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// PreviewChars is the length of a preview in characters, Dovecot's
// (RFC 8970 allows up to 256).
const PreviewChars = 200

// maxPreviewInput bounds the decoded text read for one preview.
const maxPreviewInput = 1 << 20

// Preview returns the message's preview text (RFC 8970 PREVIEW) as
// Dovecot 2.3 makes it: from the first text/* part (an HTML part as
// text, without its markup, styles and scripts), white space runs as one
// space, lines quoted with ">" left out (unless nothing else is left:
// then the quoted text, after one ">"), NULs and byte-order marks
// dropped, at most PreviewChars characters. A message whose first
// text part is missing or empty has the empty preview. r is the
// message's reader.
func (m *Message) Preview(r io.ReaderAt) (string, error) {
	p := firstTextPart(m.Root, 0)
	if p == nil {
		return "", nil
	}
	rd, err := m.region(r, p.BodyOffset, p.BodySize)
	if err != nil {
		return "", err
	}
	dec, ok := decoderFor(p.Encoding, rd)
	if !ok {
		dec = rd
	}
	if cs, ok := p.Param("charset"); ok && !isUTF8Compatible(cs) {
		if cr, err := charset.Reader(cs, dec); err == nil {
			dec = cr
		}
	}
	in := bufio.NewReader(io.LimitReader(dec, maxPreviewInput))
	var src runeSource = utf8Source{in}
	if equalFoldASCII(p.Subtype, "html") {
		src = &htmlText{in: in}
	}
	return snippet(src, PreviewChars), nil
}

// firstTextPart is the first leaf of a multipart tree that is text/*
// (non-text leaves and attached messages are passed over), or the
// message itself when it is a text part.
func firstTextPart(p *Part, depth int) *Part {
	if depth > 100 {
		return nil
	}
	if p.IsMultipart() {
		for _, c := range p.Children {
			if t := firstTextPart(c, depth+1); t != nil {
				return t
			}
		}
		return nil
	}
	if p.Message == nil && equalFoldASCII(p.Type, "text") {
		return p
	}
	return nil
}

// runeSource yields the decoded characters of a part; ok is false at
// the end.
type runeSource interface {
	next() (r rune, ok bool)
}

type utf8Source struct{ in *bufio.Reader }

func (s utf8Source) next() (rune, bool) {
	r, _, err := s.in.ReadRune()
	return r, err == nil
}

// snippet runs Dovecot's snippet rules over src.
func snippet(src runeSource, max int) string {
	type target struct {
		b    strings.Builder
		left int
	}
	var plain, quoted target
	plain.left, quoted.left = max, max
	cur := &plain
	newline := true
	space := false
	for plain.left > 0 {
		r, ok := src.next()
		if !ok {
			break
		}
		if newline {
			newline = false
			if r == '>' {
				cur = &quoted
				continue
			}
			cur = &plain
		}
		switch r {
		case 0, 0xFEFF, 0xFFFE:
			continue
		case '\n':
			newline = true
			fallthrough
		case ' ', '\t', '\r', '\v', '\f':
			if cur.b.Len() > 0 {
				space = true
			}
			continue
		}
		if space {
			space = false
			if cur.left == 0 {
				continue
			}
			cur.b.WriteByte(' ')
			cur.left--
		}
		if cur.left == 0 {
			continue
		}
		cur.left--
		cur.b.WriteRune(r)
	}
	if plain.b.Len() > 0 {
		return strings.TrimLeft(plain.b.String(), " ")
	}
	if quoted.b.Len() > 0 {
		return ">" + strings.TrimLeft(quoted.b.String(), " ")
	}
	return ""
}

// htmlText turns HTML into its text: tags become white space, the
// content of style and script elements and comments go, character
// references are decoded (&nbsp; as U+00A0, which is no white space to
// the snippet rules, as in Dovecot).
type htmlText struct {
	in      *bufio.Reader
	pending []rune
	skipTo  string // closing tag whose element's text is dropped
}

func (h *htmlText) next() (rune, bool) {
	for {
		if len(h.pending) > 0 {
			r := h.pending[0]
			h.pending = h.pending[1:]
			return r, true
		}
		r, _, err := h.in.ReadRune()
		if err != nil {
			return 0, false
		}
		switch {
		case r == '<':
			name := h.tag()
			switch {
			case h.skipTo != "" && name == h.skipTo:
				h.skipTo = ""
			case name == "style" || name == "script":
				h.skipTo = "/" + name
			}
			if h.skipTo == "" {
				return ' ', true
			}
		case h.skipTo != "":
		case r == '&':
			h.pending = []rune(h.entity())
		default:
			return r, true
		}
	}
}

// tag reads a tag (or comment) after '<' and returns its lower-case
// name ("/p" for an end tag, "!--" for a comment).
func (h *htmlText) tag() string {
	var name strings.Builder
	inName := true
	for n := 0; ; n++ {
		r, _, err := h.in.ReadRune()
		if err != nil {
			return name.String()
		}
		if inName && name.Len() == 3 && name.String() == "!--" {
			// A comment ends at "-->".
			dashes := 0
			for {
				if r == '>' && dashes >= 2 {
					return "!--"
				}
				if r == '-' {
					dashes++
				} else {
					dashes = 0
				}
				if r, _, err = h.in.ReadRune(); err != nil {
					return "!--"
				}
			}
		}
		if r == '>' {
			return name.String()
		}
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '/' && n > 0 {
			inName = false
		}
		if inName && name.Len() < 16 {
			name.WriteRune(toLowerASCII(r))
		}
	}
}

func toLowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

var htmlEntities = map[string]string{
	"amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u00a0",
	"copy": "\u00a9", "reg": "\u00ae", "hellip": "\u2026", "mdash": "\u2014", "ndash": "\u2013",
	"laquo": "\u00ab", "raquo": "\u00bb", "euro": "\u20ac", "rsquo": "\u2019", "lsquo": "\u2018",
	"rdquo": "\u201d", "ldquo": "\u201c",
}

// entity reads a character reference after '&'; what is not one is
// given back as it was.
func (h *htmlText) entity() string {
	var b strings.Builder
	for b.Len() < 10 {
		c, err := h.in.ReadByte()
		if err != nil {
			break
		}
		if c == ';' {
			s := b.String()
			if v, ok := htmlEntities[strings.ToLower(s)]; ok {
				return v
			}
			if len(s) > 1 && s[0] == '#' {
				var n int64
				var ok bool
				if s[1] == 'x' || s[1] == 'X' {
					n, ok = parseBase(s[2:], 16)
				} else {
					n, ok = parseBase(s[1:], 10)
				}
				if ok && n > 0 && n <= utf8.MaxRune {
					return string(rune(n))
				}
			}
			return "&" + s + ";"
		}
		if !(c == '#' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			h.in.UnreadByte()
			break
		}
		b.WriteByte(c)
	}
	return "&" + b.String()
}

func parseBase(s string, base int64) (int64, bool) {
	if s == "" || len(s) > 8 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		var d int64
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			d = int64(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = int64(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = int64(c-'A') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}
