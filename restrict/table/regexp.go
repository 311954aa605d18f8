package table

import (
	"context"
	"regexp"
	"strconv"
	"strings"
)

// Regexp is a regexp_table(5) or pcre_table(5): "/pattern/flags result"
// lines, "!/pattern/" negation, "if /pattern/" ... "endif" blocks, matched
// in order against the whole key; the first match wins and $1.. in the
// result are replaced by the matched groups.
//
// Both are compiled with Go's regexp package (RE2). regexp: tables use
// leftmost-longest matching, as POSIX regexec does; pcre: tables use
// leftmost-first, as PCRE does. Differences from Postfix, reported at load
// time where detectable: no back-references (\1), look-around, possessive
// quantifiers, recursion or callouts (RE2 rejects them); the regexp "x"
// flag (basic REs) is not supported; in pcre tables "$" without the "m"
// flag does not match before a final newline.
type Regexp struct {
	rules []reRule
	pcre  bool
}

type reRule struct {
	re     *regexp.Regexp
	negate bool
	value  string
	isIf   bool
	endif  bool
	skip   int
	subst  bool // value contains $ references
}

// Pattern reports true: no partial-key lookups.
func (r *Regexp) Pattern() bool { return true }

// ParseRegexp reads regexp_table(5) text (pcre=false) or pcre_table(5)
// text (pcre=true).
func ParseRegexp(data []byte, name string, pcre bool) (*Regexp, error) {
	return parseRegexpData(data, name, pcre)
}

func parseRegexpData(data []byte, file string, pcre bool) (*Regexp, error) {
	t := &Regexp{pcre: pcre}
	var errs errorList
	var stack []int
	err := eachLogicalLine(string(data), file, func(line string, lineno int) {
		line = strings.TrimLeft(line, " \t")
		fail := func(msg string) { errs.add(&Error{File: file, Line: lineno, Msg: msg}) }
		word := strings.ToLower(firstWord(line))
		if word == "endif" {
			if len(stack) == 0 {
				fail("ignoring ENDIF without matching IF")
				return
			}
			if strings.TrimSpace(line[5:]) != "" {
				fail("ignoring extra text after ENDIF")
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			t.rules[open].skip = len(t.rules)
			t.rules = append(t.rules, reRule{endif: true})
			return
		}
		r := reRule{}
		if word == "if" {
			r.isIf = true
			line = strings.TrimLeft(line[2:], " \t")
		}
		for strings.HasPrefix(line, "!") {
			r.negate = !r.negate
			line = strings.TrimLeft(line[1:], " \t")
		}
		re, rest, msg := compilePattern(line, pcre)
		if msg != "" {
			fail(msg)
			return
		}
		r.re = re
		val := strings.TrimSpace(rest)
		if r.isIf {
			if val != "" {
				fail("ignoring extra text after IF statement: \"" + val + "\"")
				return
			}
			stack = append(stack, len(t.rules))
			t.rules = append(t.rules, r)
			return
		}
		if val == "" {
			fail("no replacement text: using empty string")
			return
		}
		r.value = val
		if strings.Contains(val, "$") {
			n, ok := maxGroupRef(val)
			if !ok {
				fail("bad $ reference in replacement text \"" + val + "\"")
				return
			}
			if r.negate && n > 0 {
				fail("$number found in negative match replacement text")
				return
			}
			if n > re.NumSubexp() {
				fail("out of range replacement index \"" + strconv.Itoa(n) + "\"")
				return
			}
			r.subst = true
		}
		t.rules = append(t.rules, r)
	})
	if err != nil {
		return nil, err
	}
	for _, open := range stack {
		t.rules[open].skip = len(t.rules)
	}
	if e := errs.err(); e != nil {
		return nil, e
	}
	return t, nil
}

func firstWord(s string) string {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s
	}
	return s[:i]
}

// compilePattern parses "/pattern/flags rest" with any delimiter.
func compilePattern(line string, pcre bool) (*regexp.Regexp, string, string) {
	if line == "" {
		return nil, "", "no regular expression"
	}
	delim := line[0]
	if delim == '\\' || delim == ' ' || delim == '\t' || isAlnum(delim) {
		return nil, "", "no regular expression delimiter: expected /pattern/"
	}
	i := 1
	for i < len(line) && line[i] != delim {
		if line[i] == '\\' && i+1 < len(line) {
			i++
		}
		i++
	}
	if i >= len(line) {
		return nil, "", "missing closing delimiter in pattern"
	}
	pat := line[1:i]
	rest := line[i+1:]
	j := 0
	for j < len(rest) && rest[j] != ' ' && rest[j] != '\t' {
		j++
	}
	flags, rest := rest[:j], rest[j:]
	icase, multi, dotall, extended, anchored, ungreedy := true, false, true, false, false, false
	if !pcre {
		extended = true
	}
	for k := 0; k < len(flags); k++ {
		switch c := flags[k]; {
		case c == 'i':
			icase = !icase
		case c == 'm':
			multi = !multi
		case c == 'x':
			extended = !extended
		case pcre && c == 's':
			dotall = !dotall
		case pcre && c == 'A':
			anchored = !anchored
		case pcre && c == 'U':
			ungreedy = !ungreedy
		case pcre && (c == 'E' || c == 'X'):
			// PCRE_DOLLAR_ENDONLY is Go's behaviour already; PCRE_EXTRA has no effect here.
		default:
			return nil, "", "unknown regexp option \"" + string(c) + "\""
		}
	}
	if !pcre && !extended {
		return nil, "", "basic regular expressions (the x flag) are not supported"
	}
	if pcre && extended {
		pat = stripExtended(pat)
	}
	var pre strings.Builder
	pre.WriteString("(?")
	if icase {
		pre.WriteByte('i')
	}
	if pcre {
		if multi {
			pre.WriteByte('m')
		}
		if dotall {
			pre.WriteByte('s')
		}
		if ungreedy {
			pre.WriteByte('U')
		}
	} else if multi {
		pre.WriteByte('m') // REG_NEWLINE: ^ $ at lines, . excludes newline
	} else {
		pre.WriteByte('s') // POSIX default: . matches newline
	}
	src := pre.String()
	if src == "(?" {
		src = ""
	} else {
		src += ")"
	}
	if anchored {
		src += `\A(?:` + pat + `)`
	} else {
		src += pat
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, "", "regular expression error: " + err.Error()
	}
	if !pcre {
		re.Longest()
	}
	return re, rest, ""
}

// stripExtended removes unescaped white space and #-comments outside
// character classes (PCRE_EXTENDED).
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// maxGroupRef returns the highest $n in s and whether all $ forms are valid.
func maxGroupRef(s string) (int, bool) {
	max := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		n, w, ok := parseRef(s[i+1:])
		if !ok {
			return 0, false
		}
		if n > max {
			max = n
		}
		i += w
	}
	return max, true
}

// parseRef parses what follows a '$': "$" (literal, n=0), digits, {digits}
// or (digits). It returns the group number, the width consumed and ok.
func parseRef(s string) (int, int, bool) {
	if s == "" {
		return 0, 0, false
	}
	if s[0] == '$' {
		return 0, 1, true
	}
	open, closing := byte(0), byte(0)
	switch s[0] {
	case '{':
		open, closing = '{', '}'
	case '(':
		open, closing = '(', ')'
	}
	start := 0
	if open != 0 {
		start = 1
	}
	j := start
	for j < len(s) && s[j] >= '0' && s[j] <= '9' && j-start < 4 {
		j++
	}
	if j == start {
		return 0, 0, false
	}
	n, _ := strconv.Atoi(s[start:j])
	if open != 0 {
		if j >= len(s) || s[j] != closing {
			return 0, 0, false
		}
		j++
	}
	return n, j, true
}

// Lookup matches key against the rules in order.
func (t *Regexp) Lookup(_ context.Context, key string) (string, bool, error) {
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		if r.endif {
			continue
		}
		if r.isIf {
			if r.re.MatchString(key) == r.negate {
				i = r.skip
			}
			continue
		}
		if !r.subst || r.negate {
			if r.re.MatchString(key) != r.negate {
				return r.value, true, nil
			}
			continue
		}
		m := r.re.FindStringSubmatchIndex(key)
		if m == nil {
			continue
		}
		return expandRefs(r.value, key, m), true, nil
	}
	return "", false, nil
}

func expandRefs(tmpl, key string, m []int) string {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '$' {
			b.WriteByte(tmpl[i])
			continue
		}
		n, w, _ := parseRef(tmpl[i+1:])
		if w == 1 && tmpl[i+1] == '$' {
			b.WriteByte('$')
		} else if 2*n+1 < len(m) && m[2*n] >= 0 {
			b.WriteString(key[m[2*n]:m[2*n+1]])
		}
		i += w
	}
	return b.String()
}
