package queue

import (
	"bufio"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// mailDate formats t as Postfix's mail_date does for Date, Arrival-Date
// and Will-Retry-Until: "Mon,  7 Dec 2026 05:30:01 +0900 (JST)".
func mailDate(t time.Time) string {
	return t.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}

// oneLine makes s safe for one header field or text line: tabs become
// spaces and other control characters, invalid UTF-8 and (unless
// allow8bit) non-ASCII characters become "?", as Postfix's printable()
// does. A remote server's reply can never break the notice's structure.
func oneLine(s string, allow8bit bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			b.WriteByte('?')
		case r >= 0x80 && (!allow8bit || r < 0xa0 || (r == utf8.RuneError && isInvalidAt(s, i))):
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isInvalidAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return r == utf8.RuneError && size <= 1
}

// addrField is an address typed for a DSN field: "rfc822; addr", or
// "utf-8; addr" for an internationalized address in a global DSN (RFC
// 6533 section 3).
func addrField(addr string, global bool) string {
	if global && !isASCII(addr) {
		return "utf-8; " + oneLine(addr, true)
	}
	return "rfc822; " + oneLine(addr, false)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// dsnToken keeps the characters of s that may stand in a MIME boundary
// unquoted-safe: letters, digits, ".", "-" and "_".
func dsnToken(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return r
		}
		return -1
	}, s)
}

// xtextDecode decodes RFC 3461 xtext ("+2B" for "+"); text that is not
// valid xtext is returned as it is.
func xtextDecode(s string) string {
	if !strings.Contains(s, "+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return s
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return s
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// lineWrap breaks s at blanks as Postfix's line_wrap() does: a line
// (with its indentation) is broken before the word that would make it
// longer than length, and lines after the first are indented by indent
// spaces. A word longer than a line stays whole.
func lineWrap(s string, length, indent int) []string {
	var lines []string
	curIndent := 0
	start := 0
	first := true
	word := 0
	for word >= 0 {
		sp := strings.IndexAny(s[word:], " \t")
		nextSpace := len(s)
		if sp >= 0 {
			nextSpace = word + sp
		}
		if word > start && nextSpace-start > length-curIndent {
			lines = append(lines, strings.Repeat(" ", curIndent)+strings.TrimRight(s[start:word], " \t"))
			for word < len(s) && (s[word] == ' ' || s[word] == '\t') {
				word++
			}
			if first {
				curIndent = min(curIndent+indent, length)
				first = false
			}
			start = word
		}
		if nextSpace < len(s) {
			word = nextSpace + 1
		} else {
			word = -1
		}
	}
	return append(lines, strings.Repeat(" ", curIndent)+strings.TrimRight(s[start:], " \t"))
}

// copyOriginal copies the original message to w with CRLF line endings:
// all of it, or its header block when headersOnly; at most limit bytes
// (whole lines) when limit > 0. Lines of any length are copied in
// pieces; nothing is held in memory beyond a buffer.
func copyOriginal(w *bufio.Writer, r io.Reader, headersOnly bool, limit int64) error {
	br := bufio.NewReaderSize(r, 4096)
	var n int64
	atStart := true
	for limit <= 0 || n < limit {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if headersOnly && atStart && !isHeaderLine(line) {
				break
			}
			n += int64(len(line))
			atStart = line[len(line)-1] == '\n'
			if atStart {
				line = line[:len(line)-1]
				if len(line) > 0 && line[len(line)-1] == '\r' {
					line = line[:len(line)-1]
				}
			}
			w.Write(line)
			if atStart {
				w.WriteString("\r\n")
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if !atStart {
		w.WriteString("\r\n")
	}
	return nil
}

// isHeaderLine reports whether line starts a header field ("Name:") or
// continues one (leading blank), as Postfix's IS_HEADER.
func isHeaderLine(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	if line[0] == ' ' || line[0] == '\t' {
		return true
	}
	for i, c := range line {
		switch {
		case c == ':':
			return i > 0
		case c == ' ' || c == '\t':
			// "Name :" is a header field too (RFC 822 obsolete syntax).
			for _, d := range line[i:] {
				if d == ':' {
					return i > 0
				}
				if d != ' ' && d != '\t' {
					return false
				}
			}
			return false
		case c <= 0x20 || c >= 0x7f:
			return false
		}
	}
	return false
}
