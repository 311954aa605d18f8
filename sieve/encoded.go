package sieve

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeEncoded replaces ${hex:...} and ${unicode:...} in every string
// of the tree (RFC 5228 section 2.4.2.4).
func decodeEncoded(nodes []*node, k *checker) {
	for _, n := range nodes {
		for i := range n.args {
			a := &n.args[i]
			for j, s := range a.strs {
				if strings.Contains(s, "${") {
					out, err := decodeEncodedString(s)
					if err != "" {
						k.errf(a.pos, "%s", err)
					}
					a.strs[j] = out
				}
			}
		}
		decodeEncoded(n.tests, k)
		decodeEncoded(n.block, k)
	}
}

// decodeEncodedString decodes one string; a malformed encoding is left
// as written, an invalid Unicode code point is an error.
func decodeEncodedString(s string) (string, string) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), ""
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		colon := strings.IndexByte(rest, ':')
		if end < 0 || colon < 0 || colon > end {
			b.WriteString("${")
			s = rest
			continue
		}
		kind := strings.ToLower(rest[:colon])
		body := rest[colon+1 : end]
		var dec string
		ok := false
		switch kind {
		case "hex":
			dec, ok = decodeHexSeq(body)
		case "unicode":
			var bad uint64
			dec, ok, bad = decodeUnicodeSeq(body)
			if bad != 0 {
				return s, fmt.Sprintf("invalid unicode character 0x%08x in encoded character substitution", bad&^(1<<63))
			}
		}
		if !ok {
			b.WriteString("${")
			s = rest
			continue
		}
		b.WriteString(dec)
		s = rest[end+1:]
	}
}

func isBlank(c rune) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// decodeHexSeq decodes hex-pair-seq: blank-separated groups of one or
// two hex digits.
func decodeHexSeq(s string) (string, bool) {
	var b strings.Builder
	for _, f := range strings.FieldsFunc(s, isBlank) {
		if len(f) > 2 {
			return "", false
		}
		v, err := strconv.ParseUint(f, 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
	}
	return b.String(), true
}

func decodeUnicodeSeq(s string) (out string, ok bool, bad uint64) {
	var b strings.Builder
	for _, f := range strings.FieldsFunc(s, isBlank) {
		if len(f) > 8 {
			return "", false, 0
		}
		v, err := strconv.ParseUint(f, 16, 32)
		if err != nil {
			return "", false, 0
		}
		r := rune(v)
		if v > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF) || !utf8.ValidRune(r) {
			return "", false, v | 1<<63 // the high bit: bad even when v is 0
		}
		b.WriteRune(r)
	}
	return b.String(), true, 0
}
