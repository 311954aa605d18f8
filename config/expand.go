package config

import (
	"fmt"
	"strings"
)

// maxDepth bounds nested $name expansion (and so reference loops).
const maxDepth = 20

// maxExpanded bounds the length of an expanded value, so that a few
// self-doubling references cannot blow up memory.
const maxExpanded = 1 << 20

// maxLookups bounds the parameter references followed while expanding one
// value, so that references to empty values cannot multiply work without
// growing the result.
const maxLookups = 10000

// expander expands one value and counts the work done.
type expander struct {
	c       *Config
	lookups int
}

// expand replaces $name, ${name}, $(name), ${name?text}, ${name:text} and
// $$ in s.
func (c *Config) expand(s string, depth int) (string, error) {
	e := &expander{c: c}
	return e.expand(s, depth)
}

func (e *expander) expand(s string, depth int) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	if depth >= maxDepth {
		return "", fmt.Errorf("parameter references nested more than %d deep (a loop?)", maxDepth)
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() > maxExpanded {
			return "", fmt.Errorf("expanded value longer than %d bytes", maxExpanded)
		}
		ch := s[i]
		if ch != '$' {
			b.WriteByte(ch)
			i++
			continue
		}
		i++
		if i >= len(s) {
			b.WriteByte('$')
			break
		}
		switch s[i] {
		case '$':
			b.WriteByte('$')
			i++
		case '{', '(':
			closer := byte('}')
			if s[i] == '(' {
				closer = ')'
			}
			end := matching(s, i, s[i], closer)
			if end < 0 {
				return "", fmt.Errorf("missing %q after \"$%c\"", closer, s[i])
			}
			inner := s[i+1 : end]
			i = end + 1
			out, err := e.expandBraced(inner, depth)
			if err != nil {
				return "", err
			}
			b.WriteString(out)
		default:
			j := i
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			if j == i {
				b.WriteByte('$')
				continue
			}
			out, err := e.lookup(s[i:j], depth)
			if err != nil {
				return "", err
			}
			b.WriteString(out)
			i = j
		}
	}
	if b.Len() > maxExpanded {
		return "", fmt.Errorf("expanded value longer than %d bytes", maxExpanded)
	}
	return b.String(), nil
}

// expandBraced expands the inside of ${...}: name, name?text or name:text.
func (e *expander) expandBraced(inner string, depth int) (string, error) {
	name, text, op := inner, "", byte(0)
	if k := strings.IndexAny(inner, "?:"); k >= 0 {
		name, text, op = inner[:k], inner[k+1:], inner[k]
	}
	name = strings.TrimSpace(name)
	if p, ok := e.c.schema.params[name]; ok && p.Runtime {
		return "${" + inner + "}", nil
	}
	val, err := e.lookup(name, depth)
	if err != nil {
		return "", err
	}
	if op == 0 {
		return val, nil
	}
	// Postfix 3.x forms ${name?{text}}, ${name:{text}} and
	// ${name?{when set}:{when empty}}.
	ifSet, ifEmpty := text, ""
	if op == ':' {
		ifSet, ifEmpty = "", text
	}
	if len(text) > 0 && text[0] == '{' {
		if end := matching(text, 0, '{', '}'); end > 0 {
			first, rest := text[1:end], strings.TrimSpace(text[end+1:])
			if op == '?' {
				ifSet, ifEmpty = first, ""
			} else {
				ifSet, ifEmpty = "", first
			}
			if op == '?' && strings.HasPrefix(rest, ":") {
				rest = strings.TrimSpace(rest[1:])
				if len(rest) >= 2 && rest[0] == '{' && rest[len(rest)-1] == '}' {
					rest = rest[1 : len(rest)-1]
				}
				ifEmpty = rest
			}
		}
	}
	if val != "" {
		return e.expand(ifSet, depth+1)
	}
	return e.expand(ifEmpty, depth+1)
}

// lookup expands the value of the named parameter.
func (e *expander) lookup(name string, depth int) (string, error) {
	e.lookups++
	if e.lookups > maxLookups {
		return "", fmt.Errorf("more than %d parameter references", maxLookups)
	}
	c := e.c
	if p, ok := c.schema.params[name]; ok && p.Runtime {
		return "$" + name, nil
	}
	c.note(name)
	v, _, ok := c.raw(name)
	if !ok {
		msg := fmt.Sprintf("reference to unknown parameter $%s", name)
		if h := closest(name, c.schema.hintNames()); h != "" {
			msg += fmt.Sprintf(" (did you mean $%s?)", h)
		}
		return "", fmt.Errorf("%s", msg)
	}
	return e.expand(v, depth+1)
}

// matching returns the index of the closer that matches the opener at
// s[i], allowing nesting, or -1.
func matching(s string, i int, opener, closer byte) int {
	level := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case opener:
			level++
		case closer:
			level--
			if level == 0 {
				return j
			}
		}
	}
	return -1
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
