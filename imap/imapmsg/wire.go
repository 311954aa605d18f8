package imapmsg

import (
	"strconv"
	"strings"
)

// needsLiteral reports whether s cannot be a quoted string: it has CR, LF,
// NUL or 8-bit bytes, or (strict, as Dovecot's ENVELOPE strings) a quote or
// backslash.
func needsLiteral(s string, strict bool) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0 || c >= 0x80:
			return true
		case strict && (c == '"' || c == '\\'):
			return true
		}
	}
	return false
}

// str writes s as a quoted string, or as a literal when it must be one
// (strict: also for quotes and backslashes, or when force is set). A NUL,
// which no IMAP string may hold, is written as U+FFFD, as Dovecot writes
// header values.
func (w *wireWriter) str(s string, strict, force bool) {
	if force || needsLiteral(s, strict) {
		if strings.IndexByte(s, 0) >= 0 {
			s = strings.ReplaceAll(s, "\x00", "\uFFFD")
		}
		w.WriteByte('{')
		w.WriteString(strconv.Itoa(len(s)))
		w.WriteString("}\r\n")
		w.WriteString(s)
		return
	}
	w.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' {
			w.WriteByte('\\')
		}
		w.WriteByte(c)
	}
	w.WriteByte('"')
}

// nstr writes s, or NIL when s is "".
func (w *wireWriter) nstr(s string) {
	if s == "" {
		w.WriteString("NIL")
		return
	}
	w.str(s, false, false)
}

func (w *wireWriter) num(n int64) {
	w.WriteString(strconv.FormatInt(n, 10))
}
