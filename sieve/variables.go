package sieve

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// varsOn reports whether the running script required variables.
func (r *run) varsOn() bool { return r.script.required["variables"] }

// expand substitutes ${...} references in s (RFC 5229 section 3).
func (r *run) expand(s string) string {
	if !r.varsOn() || !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		name := rest[:end]
		if v, ok := r.lookup(name); ok {
			b.WriteString(v)
			s = rest[end+1:]
			continue
		}
		// Not a variable reference: keep "${" literally and go on.
		b.WriteString("${")
		s = rest
		if b.Len() > r.limits.MaxStringSize {
			break
		}
	}
	out := b.String()
	if len(out) > r.limits.MaxStringSize {
		out = out[:r.limits.MaxStringSize]
	}
	return out
}

// lookup resolves a variable reference's name; ok is false when the
// name is not syntactically a variable (so the text stays literal).
func (r *run) lookup(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if isDigit(name[0]) {
		for i := 0; i < len(name); i++ {
			if !isDigit(name[i]) {
				return "", false
			}
		}
		n, err := strconv.Atoi(name)
		if err != nil {
			return "", true
		}
		if n < len(r.matchVars) {
			return r.matchVars[n], true
		}
		return "", true
	}
	if !validVarName(name, false) {
		return "", false
	}
	lname := strings.ToLower(name)
	if strings.HasPrefix(lname, "global.") {
		return r.globals[lname[len("global."):]], true
	}
	if strings.Contains(lname, ".") {
		return "", true
	}
	if r.sc.globals[lname] {
		return r.globals[lname], true
	}
	return r.sc.vars[lname], true
}

// setVar assigns a variable, bounded by MaxVariableSize and MaxVariables.
func (r *run) setVar(name, val string) error {
	if len(val) > r.limits.MaxVariableSize {
		val = truncUTF8(val, r.limits.MaxVariableSize)
	}
	lname := strings.ToLower(name)
	if strings.HasPrefix(lname, "global.") {
		r.globals[lname[len("global."):]] = val
		return nil
	}
	if r.sc.globals[lname] {
		r.globals[lname] = val
		return nil
	}
	if _, ok := r.sc.vars[lname]; !ok && len(r.sc.vars) >= r.limits.MaxVariables {
		return r.fail(Pos{}, "too many variables")
	}
	r.sc.vars[lname] = val
	return nil
}

func (r *run) getVar(name string) string {
	v, _ := r.lookup(name)
	return v
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s[len(s)-1:]) {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// setMatchVars records the captures of a successful match.
func (r *run) setMatchVars(caps []string) {
	if caps == nil || !r.varsOn() {
		return
	}
	if len(caps) > 10 {
		caps = caps[:10]
	}
	r.matchVars = append(r.matchVars[:0], caps...)
}

// modifiers applies set's modifiers in RFC 5229 precedence order.
func applyModifiers(c *call, v string) string {
	if c.has("lower") {
		v = strings.ToLower(v)
	}
	if c.has("upper") {
		v = strings.ToUpper(v)
	}
	if c.has("lowerfirst") && v != "" {
		rr, n := utf8.DecodeRuneInString(v)
		v = string(unicode.ToLower(rr)) + v[n:]
	}
	if c.has("upperfirst") && v != "" {
		rr, n := utf8.DecodeRuneInString(v)
		v = string(unicode.ToUpper(rr)) + v[n:]
	}
	if c.has("quotewildcard") {
		v = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(v)
	}
	if c.has("quoteregex") {
		v = regexp.QuoteMeta(v)
	}
	if c.has("encodeurl") {
		v = strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
	}
	if c.has("length") {
		v = strconv.Itoa(utf8.RuneCountInString(v))
	}
	return v
}
