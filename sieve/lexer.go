package sieve

import (
	"fmt"
	"strings"
)

// tokKind is the kind of one lexical token (RFC 5228 section 8.1).
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokTag
	tokNumber
	tokString
	tokMultiline
	tokSemicolon
	tokComma
	tokLBracket
	tokRBracket
	tokLBrace
	tokRBrace
	tokLParen
	tokRParen
	tokError   // a lexical error, already reported
	tokGarbage // characters that start no token, already reported
)

func (k tokKind) String() string {
	switch k {
	case tokEOF:
		return "end of file"
	case tokIdent:
		return "identifier"
	case tokTag:
		return "tag"
	case tokNumber:
		return "number"
	case tokString, tokMultiline:
		return "string"
	case tokSemicolon:
		return "';'"
	case tokComma:
		return "','"
	case tokLBracket:
		return "'['"
	case tokRBracket:
		return "']'"
	case tokLBrace:
		return "'{'"
	case tokRBrace:
		return "'}'"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokGarbage:
		return "unknown characters"
	}
	return "unknown token"
}

// token is one lexical token with its position.
type token struct {
	kind tokKind
	text string // identifier/tag name (lowercased), or string value
	num  int64
	pos  Pos
}

// describe names the token as Pigeonhole's messages do.
func (t token) describe() string {
	switch t.kind {
	case tokIdent:
		return "identifier"
	case tokTag:
		return "tag"
	case tokNumber:
		return "number"
	case tokString, tokMultiline:
		return "string"
	}
	return t.kind.String()
}

// lexer turns a script into tokens.
type lexer struct {
	src  []byte
	off  int
	line int
	col  int
	errs []*Error // lexical errors, and the parser's (report)
	// garbage is set after a tokGarbage token: a run of such characters
	// is reported once.
	garbage bool
}

// report records an error of the lexer or the parser, in the order
// found.
func (l *lexer) report(e *Error) { l.errs = append(l.errs, e) }

// next returns the next token. A lexical error is reported and yields a
// tokError token, or a tokGarbage token for a character that starts no
// token (one character a call), so that the parser can go on and report
// what follows as Pigeonhole's does.
func (l *lexer) next() token {
	wasGarbage := l.garbage
	t, err := l.scan()
	l.garbage = t.kind == tokGarbage
	if err == nil {
		return t
	}
	if t.kind == tokGarbage {
		if !wasGarbage {
			l.report(err)
		}
		return t
	}
	l.report(err)
	return token{kind: tokError, pos: err.Pos}
}

func newLexer(src []byte) *lexer { return &lexer{src: src, line: 1, col: 1} }

func (l *lexer) errf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) peekByte(n int) byte {
	if l.off+n < len(l.src) {
		return l.src[l.off+n]
	}
	return 0
}

func (l *lexer) advance() {
	if l.off >= len(l.src) {
		return
	}
	if l.src[l.off] == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	l.off++
}

func (l *lexer) pos() Pos { return Pos{Line: l.line, Column: l.col} }

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() *Error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance()
		case c == '#':
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance()
			}
		case c == '/' && l.peekByte(1) == '*':
			p := l.pos()
			l.advance()
			l.advance()
			for {
				if l.off >= len(l.src) {
					return l.errf(l.pos(), "end of file before end of bracket comment ('/* ... */') started at line %d", p.Line)
				}
				if l.src[l.off] == '*' && l.peekByte(1) == '/' {
					l.advance()
					l.advance()
					break
				}
				l.advance()
			}
		default:
			return nil
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scan reads the next token, or fails with a lexical error.
func (l *lexer) scan() (token, *Error) {
	start := l.off
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	if l.off != start {
		l.garbage = false // white space ends a run of garbage
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	if k := punct(c); k != tokEOF {
		l.advance()
		return token{kind: k, pos: p}, nil
	}
	switch {
	case c == ':':
		l.advance()
		if l.off >= len(l.src) || !isAlpha(l.src[l.off]) {
			return token{kind: tokGarbage, pos: p}, l.errf(p, "unexpected character(s) starting with ':'")
		}
		id := l.ident()
		return token{kind: tokTag, text: strings.ToLower(id), pos: p}, nil
	case isAlpha(c):
		id := l.ident()
		lid := strings.ToLower(id)
		if lid == "text" && l.off < len(l.src) && l.src[l.off] == ':' {
			l.advance()
			return l.multiline(p)
		}
		return token{kind: tokIdent, text: lid, pos: p}, nil
	case isDigit(c):
		return l.number(p)
	case c == '"':
		return l.quoted(p)
	}
	l.advance()
	if c >= 0x20 && c < 0x7f {
		return token{kind: tokGarbage, pos: p}, l.errf(p, "unexpected character(s) starting with '%c'", c)
	}
	return token{kind: tokGarbage, pos: p}, l.errf(p, "unexpected character(s) starting with 0x%02x", c)
}

func (l *lexer) ident() string {
	start := l.off
	for l.off < len(l.src) && (isAlpha(l.src[l.off]) || isDigit(l.src[l.off])) {
		l.advance()
	}
	return string(l.src[start:l.off])
}

// maxNumber is the largest number a script may hold: Pigeonhole's
// sieve_number_t is 64-bit but values beyond this are refused.
const maxNumber = 1<<63 - 1

func (l *lexer) number(p Pos) (token, *Error) {
	var n uint64
	overflow := false
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		d := uint64(l.src[l.off] - '0')
		if n > (maxNumber-d)/10 {
			overflow = true
		} else {
			n = n*10 + d
		}
		l.advance()
	}
	if l.off < len(l.src) {
		var mul uint64
		switch l.src[l.off] {
		case 'k', 'K':
			mul = 1 << 10
		case 'm', 'M':
			mul = 1 << 20
		case 'g', 'G':
			mul = 1 << 30
		}
		if mul != 0 {
			l.advance()
			if n > maxNumber/mul {
				overflow = true
			} else {
				n *= mul
			}
		}
	}
	if overflow {
		return token{}, l.errf(p, "number exceeds integer limits (max 18446744073709551615)")
	}
	return token{kind: tokNumber, num: int64(n), pos: p}, nil
}

func (l *lexer) quoted(p Pos) (token, *Error) {
	l.advance() // opening quote
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return token{}, l.errf(l.pos(), "end of file before end of quoted string started at line %d", p.Line)
		}
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance()
			return token{kind: tokString, text: b.String(), pos: p}, nil
		case '\\':
			l.advance()
			if l.off >= len(l.src) {
				return token{}, l.errf(l.pos(), "end of file before end of quoted string started at line %d", p.Line)
			}
			b.WriteByte(l.src[l.off])
			l.advance()
		case '\r':
			// A bare CR is dropped before LF as Pigeonhole normalises
			// line ends in strings.
			l.advance()
			if l.off < len(l.src) && l.src[l.off] == '\n' {
				b.WriteString("\r\n")
				l.advance()
			} else {
				b.WriteByte('\r')
			}
		case '\n':
			b.WriteString("\r\n")
			l.advance()
		default:
			b.WriteByte(c)
			l.advance()
		}
	}
}

// multiline reads a "text:" string (RFC 5228 section 2.4.2).
func (l *lexer) multiline(p Pos) (token, *Error) {
	// White space and an optional hash comment up to the line end.
	for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t') {
		l.advance()
	}
	if l.off < len(l.src) && l.src[l.off] == '#' {
		for l.off < len(l.src) && l.src[l.off] != '\n' {
			l.advance()
		}
	}
	if l.off < len(l.src) && l.src[l.off] == '\r' {
		l.advance()
	}
	if l.off >= len(l.src) || l.src[l.off] != '\n' {
		if l.off >= len(l.src) {
			return token{}, l.errf(l.pos(), "end of file before end of multi-line string")
		}
		return token{}, l.errf(l.pos(), "invalid character '%c' after 'text:' in multiline string", l.src[l.off])
	}
	l.advance()
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return token{}, l.errf(l.pos(), "end of file before end of multi-line string")
		}
		start := l.off
		for l.off < len(l.src) && l.src[l.off] != '\n' {
			l.advance()
		}
		line := l.src[start:l.off]
		line = trimCR(line)
		if l.off >= len(l.src) {
			return token{}, l.errf(l.pos(), "end of file before end of multi-line string")
		}
		l.advance() // LF
		if len(line) == 1 && line[0] == '.' {
			return token{kind: tokMultiline, text: b.String(), pos: p}, nil
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func punct(c byte) tokKind {
	switch c {
	case ';':
		return tokSemicolon
	case ',':
		return tokComma
	case '[':
		return tokLBracket
	case ']':
		return tokRBracket
	case '{':
		return tokLBrace
	case '}':
		return tokRBrace
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	}
	return tokEOF
}
