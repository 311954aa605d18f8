package table

import (
	"bytes"
	"context"
	"strings"
)

// Hash is an in-memory fixed-string table: what Postfix's hash:, btree:
// and texthash: tables hold, built from postmap(1) source text.
type Hash struct {
	m map[string]string
}

// Lookup folds key to lower case and looks it up.
func (h *Hash) Lookup(_ context.Context, key string) (string, bool, error) {
	v, ok := h.m[lowerASCII(key)]
	return v, ok, nil
}

// Len returns the number of entries.
func (h *Hash) Len() int { return len(h.m) }

// NewHash builds a table from a map; keys are folded to lower case.
func NewHash(m map[string]string) *Hash {
	h := &Hash{m: make(map[string]string, len(m))}
	for k, v := range m {
		h.m[lowerASCII(k)] = v
	}
	return h
}

// ParseHash reads postmap(1) source text: one "key whitespace value" per
// logical line; lines starting with white space continue the previous
// line; empty lines and lines whose first non-blank character is '#' are
// ignored. Keys are folded to lower case. A key given twice keeps its
// first value, as postmap does. Lines without a value are errors.
func ParseHash(data []byte, name string) (*Hash, error) { return parseHashData(data, name) }

func parseHashData(data []byte, file string) (*Hash, error) {
	s := string(data) // one copy; keys and values are substrings of it
	type kv struct{ k, v string }
	pairs := make([]kv, 0, bytes.Count(data, []byte{'\n'})+1)
	var errs errorList
	err := eachLogicalLine(s, file, func(line string, lineno int) {
		k, v := splitKeyValue(line)
		if v == "" {
			errs.add(&Error{File: file, Line: lineno, Msg: "expected format: key whitespace value"})
			return
		}
		pairs = append(pairs, kv{lowerASCII(k), v})
	})
	if err != nil {
		return nil, err
	}
	if e := errs.err(); e != nil {
		return nil, e
	}
	// Insert in reverse so that the first of duplicate keys wins, as in
	// postmap, with one map operation per entry.
	h := &Hash{m: make(map[string]string, len(pairs))}
	for i := len(pairs) - 1; i >= 0; i-- {
		h.m[pairs[i].k] = pairs[i].v
	}
	return h, nil
}

// splitKeyValue splits a logical line at the first run of white space.
func splitKeyValue(line string) (string, string) {
	i := 0
	for i < len(line) && line[i] != ' ' && line[i] != '\t' {
		i++
	}
	k := line[:i]
	v := strings.TrimRight(strings.TrimLeft(line[i:], " \t"), " \t\r")
	return k, v
}

// eachLogicalLine calls fn for each logical line of postmap-style text,
// with the number of the line it started on. As Postfix's readlline does,
// a line that starts with white space continues the previous one (the
// pieces are joined as they are, without the newline), empty lines and
// lines whose first non-blank character is '#' are skipped, and trailing
// white space of the logical line is removed.
func eachLogicalLine(s, file string, fn func(line string, lineno int)) error {
	var cur strings.Builder
	var simple string
	curStart, lineno := 0, 0
	haveCur, joined := false, false
	flush := func() {
		if !haveCur {
			return
		}
		l := simple
		if joined {
			l = cur.String()
			cur.Reset()
		}
		fn(strings.TrimRight(l, " \t\r"), curStart)
		haveCur, joined = false, false
	}
	for len(s) > 0 {
		lineno++
		var line string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		if len(line) > MaxLineLength {
			return &Error{File: file, Line: lineno, Msg: "line too long"}
		}
		t := strings.TrimLeft(line, " \t\r")
		if t == "" || t[0] == '#' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if haveCur {
				if !joined {
					cur.WriteString(simple)
					joined = true
				}
				cur.WriteString(line)
				if cur.Len() > MaxLineLength {
					return &Error{File: file, Line: lineno, Msg: "logical line too long"}
				}
				continue
			}
			flush()
			haveCur, simple, curStart = true, t, lineno
			continue
		}
		flush()
		haveCur, simple, curStart = true, line, lineno
	}
	flush()
	return nil
}

// lowerASCII folds ASCII upper case, allocating only when needed.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

type errorList []error

func (l *errorList) add(e error) {
	if len(*l) < 100 {
		*l = append(*l, e)
	}
}

func (l errorList) err() error {
	if len(l) == 0 {
		return nil
	}
	if len(l) == 1 {
		return l[0]
	}
	return ErrorList(l)
}

// ErrorList is several problems in one table file.
type ErrorList []error

// Error joins the problems with "; ".
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual errors.
func (l ErrorList) Unwrap() []error { return l }
