package imapbench

import (
	"fmt"
	"strconv"
	"strings"
)

// parseError is the parser's failure, raised by fail and recovered in
// parseReply (it never leaves the package).
type parseError string

// parser walks one reply's bytes with the formal syntax of RFC 3501 and
// RFC 9051.
type parser struct {
	b     []byte
	i     int
	depth int
}

func (p *parser) fail(format string, args ...any) {
	panic(parseError(fmt.Sprintf(format, args...)))
}

func (p *parser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *parser) expect(s string) {
	if !p.accept(s) {
		p.fail("expected %q", s)
	}
}

// accept consumes s (case-insensitively) when it comes next.
func (p *parser) accept(s string) bool {
	if len(p.b)-p.i >= len(s) && strings.EqualFold(string(p.b[p.i:p.i+len(s)]), s) {
		p.i += len(s)
		return true
	}
	return false
}

func (p *parser) sp() { p.expect(" ") }

// crlf ends the reply: nothing may follow.
func (p *parser) crlf() {
	p.expect("\r\n")
	if p.i != len(p.b) {
		p.fail("data after the end of the reply")
	}
}

// isAtomChar is ATOM-CHAR: any CHAR except atom-specials.
func isAtomChar(c byte) bool {
	if c <= 0x1f || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

// atom reads 1*ATOM-CHAR; with astring it also takes "]" (ASTRING-CHAR).
func (p *parser) atomChars(astring bool) string {
	s := p.i
	for p.i < len(p.b) && (isAtomChar(p.b[p.i]) || astring && p.b[p.i] == ']') {
		p.i++
	}
	if p.i == s {
		p.fail("expected an atom")
	}
	return string(p.b[s:p.i])
}

func (p *parser) atom() string { return p.atomChars(false) }

// number reads number (up to 2^32-1) or, with wide, mod-sequence-value
// (up to 2^63-1).
func (p *parser) numberMax(max uint64) uint64 {
	s := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == s {
		p.fail("expected a number")
	}
	n, err := strconv.ParseUint(string(p.b[s:p.i]), 10, 64)
	if err != nil || n > max {
		p.fail("number out of range")
	}
	return n
}

func (p *parser) number() uint32 { return uint32(p.numberMax(1<<32 - 1)) }

func (p *parser) nz() uint32 {
	n := p.number()
	if n == 0 {
		p.fail("expected a non-zero number")
	}
	return n
}

func (p *parser) modseq() uint64 {
	n := p.numberMax(1<<63 - 1)
	if n == 0 {
		p.fail("expected a non-zero mod-sequence")
	}
	return n
}

// quoted reads DQUOTE *QUOTED-CHAR DQUOTE (8-bit allowed, as RFC 9051's
// UTF-8 quoted strings).
func (p *parser) quoted() string {
	p.expect(`"`)
	var sb strings.Builder
	for {
		if p.i >= len(p.b) {
			p.fail("unterminated quoted string")
		}
		c := p.b[p.i]
		p.i++
		switch c {
		case '"':
			return sb.String()
		case '\\':
			if p.i >= len(p.b) || p.b[p.i] != '"' && p.b[p.i] != '\\' {
				p.fail("bad escape in a quoted string")
			}
			sb.WriteByte(p.b[p.i])
			p.i++
		case '\r', '\n', 0:
			p.fail("CR, LF or NUL in a quoted string")
		default:
			sb.WriteByte(c)
		}
	}
}

// literal reads "{" number "}" CRLF and the bytes (literal8 "~{" when
// binary).
func (p *parser) literal(binary bool) string {
	if binary {
		p.accept("~")
	}
	p.expect("{")
	n := p.number()
	p.expect("}\r\n")
	if uint64(len(p.b)-p.i) < uint64(n) {
		p.fail("literal longer than the reply")
	}
	s := string(p.b[p.i : p.i+int(n)])
	if !binary && strings.IndexByte(s, 0) >= 0 {
		p.fail("NUL in a literal")
	}
	p.i += int(n)
	return s
}

// str reads string: quoted or literal.
func (p *parser) str() string {
	if p.peek() == '"' {
		return p.quoted()
	}
	return p.literal(false)
}

// nstring reads string or NIL (ok false for NIL).
func (p *parser) nstring() (string, bool) {
	if p.accept("NIL") {
		return "", false
	}
	return p.str(), true
}

func (p *parser) astring() string {
	switch p.peek() {
	case '"', '{':
		return p.str()
	}
	return p.atomChars(true)
}

// mailbox reads mailbox: astring (INBOX in any case is INBOX).
func (p *parser) mailbox() string {
	m := p.astring()
	if strings.EqualFold(m, "INBOX") {
		return "INBOX"
	}
	return m
}

// flag reads flag (or flag-perm's "\*" when perm, or flag-fetch's
// \Recent when fetch).
func (p *parser) flag(perm bool) string {
	if p.accept(`\*`) {
		if !perm {
			p.fail(`\* outside PERMANENTFLAGS`)
		}
		return `\*`
	}
	if p.accept(`\`) {
		return `\` + p.atom()
	}
	return p.atom()
}

// flagList reads "(" [flag *(SP flag)] ")".
func (p *parser) flagList(perm bool) []string {
	p.expect("(")
	flags := []string{}
	for p.peek() != ')' {
		if len(flags) > 0 {
			p.sp()
		}
		flags = append(flags, p.flag(perm))
	}
	p.i++
	return flags
}

// value reads any one of atom, number, string, NIL or a parenthesised
// list of values: the generic shape of extension data (body structures,
// ID and NAMESPACE, LIST extended items, ESEARCH return data).
func (p *parser) value() {
	switch c := p.peek(); {
	case c == '(':
		p.depth++
		if p.depth > maxReplyDepth {
			p.fail("lists nested too deep")
		}
		p.i++
		for n := 0; p.peek() != ')'; n++ {
			if n > 0 {
				p.sp()
			}
			p.value()
		}
		p.i++
		p.depth--
	case c == '"':
		p.quoted()
	case c == '{' || c == '~':
		p.literal(true)
	case c == '\\':
		p.i++
		p.atom()
	default:
		p.atom()
	}
}

// seqSet reads sequence-set (uid-set when noStar) and expands it.
func (p *parser) seqSet(noStar bool) []uint32 {
	var out []uint32
	for {
		a := p.nz()
		b := a
		if p.accept(":") {
			b = p.nz()
		}
		if a > b {
			a, b = b, a
		}
		if uint64(len(out))+uint64(b-a)+1 > maxSetMembers {
			p.fail("set too large")
		}
		for n := uint64(a); n <= uint64(b); n++ {
			out = append(out, uint32(n))
		}
		if !p.accept(",") {
			return out
		}
	}
}

// dateTime reads date-time: DQUOTE date-day-fixed "-" date-month "-"
// date-year SP time SP zone DQUOTE.
func (p *parser) dateTime() {
	s := p.quoted()
	ok := len(s) == 26 && (s[0] == ' ' || isDigit(s[0])) && isDigit(s[1]) && s[2] == '-' && s[6] == '-' &&
		strings.Contains("JanFebMarAprMayJunJulAugSepOctNovDec", s[3:6]) && len(strings.TrimSpace(s[3:6])) == 3 &&
		digits(s[7:11]) && s[11] == ' ' && digits(s[12:14]) && s[14] == ':' && digits(s[15:17]) && s[17] == ':' &&
		digits(s[18:20]) && s[20] == ' ' && (s[21] == '+' || s[21] == '-') && digits(s[22:26])
	if !ok {
		p.fail("bad date-time %q", s)
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// text reads text (any TEXT-CHAR up to CRLF), empty allowed as RFC 9051.
func (p *parser) text() string {
	s := p.i
	for p.i < len(p.b) && p.b[p.i] != '\r' && p.b[p.i] != '\n' && p.b[p.i] != 0 {
		p.i++
	}
	return string(p.b[s:p.i])
}
