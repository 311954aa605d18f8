package imapmsg

import (
	"strconv"
	"strings"
)

func parseSectionSpec(s string) (SectionSpec, error) {
	var spec SectionSpec
	i := 0
	for i < len(s) && isDigit(s[i]) {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		n, err := strconv.ParseUint(s[i:j], 10, 32)
		if err != nil || n == 0 || s[i] == '0' || len(spec.Part) >= MaxSectionParts {
			return SectionSpec{}, ErrBadSection
		}
		spec.Part = append(spec.Part, int(n))
		i = j
		if i == len(s) {
			return spec, nil
		}
		if s[i] != '.' {
			return SectionSpec{}, ErrBadSection
		}
		i++
		if i == len(s) {
			return SectionSpec{}, ErrBadSection
		}
	}
	rest := s[i:]
	if rest == "" {
		return spec, nil
	}
	upper := strings.ToUpper(rest)
	switch {
	case upper == "HEADER":
		spec.Specifier = SpecHeader
	case upper == "TEXT":
		spec.Specifier = SpecText
	case upper == "MIME":
		if len(spec.Part) == 0 {
			return SectionSpec{}, ErrBadSection
		}
		spec.Specifier = SpecMIME
	case strings.HasPrefix(upper, "HEADER.FIELDS.NOT "):
		spec.Specifier = SpecHeaderFieldsNot
		rest = rest[len("HEADER.FIELDS.NOT "):]
	case strings.HasPrefix(upper, "HEADER.FIELDS "):
		spec.Specifier = SpecHeaderFields
		rest = rest[len("HEADER.FIELDS "):]
	default:
		return SectionSpec{}, ErrBadSection
	}
	if spec.Specifier == SpecHeaderFields || spec.Specifier == SpecHeaderFieldsNot {
		fields, err := parseHeaderList(rest)
		if err != nil {
			return SectionSpec{}, err
		}
		spec.Fields = fields
	}
	return spec, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseHeaderList parses "(" astring *(SP astring) ")" to the end of s.
func parseHeaderList(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '(' {
		return nil, ErrBadSection
	}
	i := 1
	var out []string
	for {
		if i >= len(s) {
			return nil, ErrBadSection
		}
		if s[i] == ')' && len(out) > 0 {
			if i != len(s)-1 {
				return nil, ErrBadSection
			}
			return out, nil
		}
		if len(out) > 0 {
			if s[i] != ' ' {
				return nil, ErrBadSection
			}
			i++
		}
		name, n, ok := parseAString(s[i:])
		if !ok || name == "" || len(out) >= MaxSectionFields {
			return nil, ErrBadSection
		}
		for k := 0; k < len(name); k++ {
			// A field name is printable ASCII without colon (RFC 5322).
			if name[k] <= ' ' || name[k] >= 0x7f || name[k] == ':' {
				return nil, ErrBadSection
			}
		}
		out = append(out, name)
		i += n
	}
}

// parseAString reads an IMAP astring (atom, quoted string or literal) at
// the start of s and returns it and the bytes consumed.
func parseAString(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	switch s[0] {
	case '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '"':
				return b.String(), i + 1, true
			case '\\':
				i++
				if i >= len(s) || (s[i] != '"' && s[i] != '\\') {
					return "", 0, false
				}
				b.WriteByte(s[i])
			case '\r', '\n', 0:
				return "", 0, false
			default:
				b.WriteByte(c)
			}
		}
		return "", 0, false
	case '{':
		j := strings.Index(s, "}\r\n")
		if j < 2 {
			return "", 0, false
		}
		num := strings.TrimSuffix(s[1:j], "+")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || j+3+n > len(s) {
			return "", 0, false
		}
		return s[j+3 : j+3+n], j + 3 + n, true
	}
	i := 0
	for i < len(s) && isAStringChar(s[i]) {
		i++
	}
	return s[:i], i, i > 0
}

func isAStringChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return strings.IndexByte(`(){%*"\`, c) < 0
}

func (s SectionSpec) format() string {
	var b strings.Builder
	for i, n := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if s.Specifier != SpecNone {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(string(s.Specifier))
	}
	if s.Specifier == SpecHeaderFields || s.Specifier == SpecHeaderFieldsNot {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			f = strings.ToUpper(f)
			if needsQuoting(f) {
				b.WriteString(strconv.Quote(f))
			} else {
				b.WriteString(f)
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

func needsQuoting(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAStringChar(s[i]) || s[i] == ']' {
			return true
		}
	}
	return s == ""
}
