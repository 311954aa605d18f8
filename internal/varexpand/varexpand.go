// Package varexpand is Dovecot 2.3's %-variable expansion
// (var_expand): "%u", "%{user}", "%08Xu", "%-3.3f", "%Ln", with the
// offset, width and modifier syntax of src/lib/var-expand.c, shared by
// auth's templates (passdb/userdb paths, SQL queries, LDAP filters) and
// pop3_uidl_format. It knows no variables itself: a caller names its
// one-letter variables in a Syntax and looks values up by long name.
//
// The syntax is "%" [ "-" ] [ "0" ] [ digits ] [ "." [ "0" ] [ "-" ]
// digits ] modifiers ( letter | "{" name "}" | "%" ). Modifiers, applied
// left to right: L and U (case), R (reverse), M (MD5 in hex), H (hash;
// with a width, modulo the width, which is then no width), D (domain to
// LDAP DN components), X (decimal to lower-case hex; not a number: 0),
// E (backslash-escape \ " '), T (trim trailing white space). Then the
// offset (negative: from the end) and the width: a width with a leading
// zero pads with zeros on the left and never truncates; another width
// keeps that many bytes (a negative one is ignored).
package varexpand

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DefaultMaxWidth is where widths and offsets saturate when a Syntax
// sets none: far above any path, query or DN.
const DefaultMaxWidth = 1 << 20

// Modifiers are the modifier letters Parse accepts.
const Modifiers = "LURMHDXET"

// Syntax says which one-letter variables a template may use and how far
// widths go.
type Syntax struct {
	// Short maps one-letter variables to their long names.
	Short map[byte]string
	// MaxWidth is where a width or offset saturates (0: DefaultMaxWidth).
	MaxWidth int
}

// Part is a literal (Name == "") or one variable with its modifiers,
// offset and width.
type Part struct {
	Lit       string // literal text when Name is ""
	Name      string // the variable's long name
	Mods      string // modifiers, in order
	Offset    int
	Width     int
	HasOffset bool
	HasWidth  bool
	ZeroPad   bool
}

// Template is a parsed template.
type Template []Part

// ErrSyntax is wrapped by every error of Parse and Expand.
var ErrSyntax = errors.New("bad variable template")

// Error is a template's error; it wraps ErrSyntax.
type Error struct {
	// Msg says what is wrong ("unknown variable %q"), for a caller's
	// own prefix.
	Msg string
}

func (e *Error) Error() string { return ErrSyntax.Error() + ": " + e.Msg }

// Unwrap returns ErrSyntax.
func (e *Error) Unwrap() error { return ErrSyntax }

func syntaxErr(format string, a ...any) error {
	return &Error{Msg: fmt.Sprintf(format, a...)}
}

// Parse parses tmpl. A one-letter variable not in syn.Short is an error;
// long names are not checked (the caller knows its names).
func Parse(tmpl string, syn Syntax) (Template, error) {
	maxWidth := syn.MaxWidth
	if maxWidth <= 0 {
		maxWidth = DefaultMaxWidth
	}
	var t Template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t = append(t, Part{Lit: lit.String()})
			lit.Reset()
		}
	}
	digits := func(i int) (int, int) {
		n := 0
		for i < len(tmpl) && tmpl[i] >= '0' && tmpl[i] <= '9' {
			n = min(n*10+int(tmpl[i]-'0'), maxWidth)
			i++
		}
		return n, i
	}
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		i++
		if i >= len(tmpl) {
			return nil, syntaxErr("%% at the end")
		}
		var p Part
		sign := 1
		if tmpl[i] == '-' {
			sign = -1
			i++
		}
		if i < len(tmpl) && tmpl[i] == '0' {
			p.ZeroPad = true
			i++
		}
		n, j := digits(i)
		p.HasWidth = j > i
		i = j
		if i < len(tmpl) && tmpl[i] == '.' {
			p.HasOffset, p.Offset, sign = true, sign*n, 1
			p.ZeroPad = false
			i++
			if i < len(tmpl) && tmpl[i] == '0' {
				p.ZeroPad = true
				i++
			}
			if i < len(tmpl) && tmpl[i] == '-' {
				sign = -1
				i++
			}
			n, j = digits(i)
			p.HasWidth = j > i
			i = j
		}
		p.Width = sign * n
		start := i
		for i < len(tmpl) && strings.IndexByte(Modifiers, tmpl[i]) >= 0 {
			i++
		}
		p.Mods = tmpl[start:i]
		if i >= len(tmpl) {
			return nil, syntaxErr("incomplete variable")
		}
		switch c := tmpl[i]; c {
		case '%':
			lit.WriteByte('%')
			i++
			continue
		case '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return nil, syntaxErr("unterminated %%{")
			}
			p.Name = tmpl[i+1 : i+end]
			if p.Name == "" {
				return nil, syntaxErr("empty %%{}")
			}
			i += end + 1
		default:
			name, ok := syn.Short[c]
			if !ok {
				return nil, syntaxErr("unknown variable %%%c", c)
			}
			p.Name = name
			i++
		}
		flush()
		t = append(t, p)
	}
	flush()
	return t, nil
}

// Expand expands t, looking each variable up by long name; a name lookup
// does not know is an error. escape, when not nil, is applied to each
// value after its modifiers and width (SQL or LDAP quoting). The result
// is refused when it would pass max bytes (0: no limit).
func (t Template) Expand(lookup func(name string) (string, bool), escape func(string) string, max int) (string, error) {
	var b strings.Builder
	for _, p := range t {
		val := p.Lit
		if p.Name != "" {
			v, ok := lookup(p.Name)
			if !ok {
				return "", syntaxErr("unknown variable %%{%s}", p.Name)
			}
			val = p.Apply(v)
			if escape != nil {
				val = escape(val)
			}
		}
		if max > 0 && b.Len()+len(val) > max {
			return "", syntaxErr("expands to more than %d bytes", max)
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

// Apply applies p's modifiers, offset and width to a variable's value.
func (p Part) Apply(val string) string {
	for i := 0; i < len(p.Mods); i++ {
		m := p.Mods[i]
		if m == 'H' {
			h := strHash(val)
			if p.HasWidth && p.Width > 0 {
				h %= uint32(p.Width)
			}
			p.HasWidth, p.Width = false, 0
			val = strconv.FormatUint(uint64(h), 16)
			continue
		}
		val = Modify(m, val)
	}
	zeros, start, end := p.Bounds(len(val))
	if zeros > 0 {
		return strings.Repeat("0", zeros) + val
	}
	return val[start:end]
}

// Modify applies one modifier other than H (which needs the width).
func Modify(m byte, val string) string {
	switch m {
	case 'L':
		return strings.ToLower(val)
	case 'U':
		return strings.ToUpper(val)
	case 'R':
		b := []byte(val)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	case 'M':
		sum := md5.Sum([]byte(val))
		return hex.EncodeToString(sum[:])
	case 'H':
		return strconv.FormatUint(uint64(strHash(val)), 16)
	case 'D':
		return strings.ReplaceAll(val, ".", ",dc=")
	case 'X':
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			n = 0
		}
		return strconv.FormatUint(n, 16)
	case 'E':
		return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `'`, `\'`).Replace(val)
	case 'T':
		return strings.TrimRight(val, " \t\n\v\f\r")
	}
	return val
}

// Bounds gives, for a value of n bytes, how many zeros go before it and
// which part of it is kept.
func (p Part) Bounds(n int) (zeros, start, end int) {
	if p.ZeroPad {
		return max(p.Width-n, 0), 0, n
	}
	if !p.HasOffset && !p.HasWidth {
		return 0, 0, n
	}
	if p.Offset > 0 {
		if p.Offset >= n {
			return 0, n, n
		}
		start = p.Offset
	} else if p.Offset < 0 {
		start = max(n+p.Offset, 0)
	}
	end = n
	if p.HasWidth && p.Width >= 0 && p.Width < end-start {
		end = start + p.Width
	}
	return 0, start, end
}

// strHash is Dovecot's str_hash (the PJW/ELF string hash) used by %H.
func strHash(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h = h<<4 + uint32(s[i])
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
			h ^= g
		}
	}
	return h
}
