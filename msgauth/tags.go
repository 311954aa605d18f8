package msgauth

import (
	"errors"
	"strings"
	"unicode"
)

// maxTags bounds a tag=value list (DKIM-Signature, DKIM key, DMARC record).
const maxTags = 64

var errTagSyntax = errors.New("malformed tag list")

// parseTags parses an RFC 6376 section 3.2 tag-list ("a=b; c=d"),
// folding whitespace removed around names and values. A duplicate tag is
// an error, as the RFC requires.
func parseTags(s string) (map[string]string, error) {
	out := make(map[string]string, 12)
	for rest, more := s, true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ";")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errTagSyntax
		}
		name = strings.TrimSpace(name)
		if name == "" || !isTagName(name) {
			return nil, errTagSyntax
		}
		if _, dup := out[name]; dup {
			return nil, errTagSyntax
		}
		if len(out) >= maxTags {
			return nil, errTagSyntax
		}
		out[name] = strings.TrimSpace(value)
	}
	return out, nil
}

func isTagName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// stripFWS removes all whitespace (b= and bh= values are folded).
func stripFWS(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return s // the usual case: no copy
	}
	// Every Unicode space, as go-msgauth's stripWhitespace: \f and \v
	// too, so that both read an h= list alike. ASCII (a folded b= value)
	// needs no rune decoding.
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) {
					return -1
				}
				return r
			}, s)
		}
		if c != ' ' && (c < '\t' || c > '\r') {
			b = append(b, c)
		}
	}
	return string(b)
}
