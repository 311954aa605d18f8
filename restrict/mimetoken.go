package restrict

import "strings"

// This file holds the small lexical helpers of the MIME state machine
// (mimescan.go): Postfix's is_header_buf(3), header_token(3) and the
// header_opts(3) facts the machine needs.

// Token types of headerTokens besides the special or control byte itself.
const (
	tokToken   = 256 // an RFC 822 atom (with the caller's specials)
	tokQString = 257 // a quoted string
)

// RFC 2045 tspecials (Content-Type) and RFC 822 specials
// (Content-Transfer-Encoding), as mime_state.c and lex_822.h use them.
const (
	rfc2045TSpecials = "()<>@,;:\\\"/[]?="
	lex822Specials   = "()<>@,;:\\\".[]"
)

// hdrToken is one token of a header value: typ is tokToken, tokQString
// or the byte of a special or control character; val is its text.
type hdrToken struct {
	typ int
	val []byte
}

// isHeaderBuf is Postfix's is_header_buf: the length of the header name
// when text starts with a name, optional blanks and a colon, else 0.
// Name bytes are printable ASCII.
func isHeaderBuf(text []byte) int {
	const (
		initial = iota
		inChar
		inCharSpace
	)
	n, state := 0, initial
	for _, c := range text {
		switch c {
		case ' ', '\t':
			if state == initial {
				return 0
			}
			state = inCharSpace
		case ':':
			if state == initial {
				return 0
			}
			return n
		default:
			if c == 0 || c >= 0x80 || c < 0x20 || c == 0x7f || state == inCharSpace {
				return 0
			}
			state = inChar
			n++
		}
	}
	return 0
}

// headerTokens is Postfix's header_token: it reads the header value at
// s into at most len(toks) tokens, skipping linear white space and
// comments, and stops after the terminator term (0 for none; then also
// when toks is full). It returns the number of tokens stored, or -1 when
// s held no more input, and the unread rest. Token values point into
// *scratch, which it reuses. A NUL byte ends the input, as in C.
func headerTokens(toks []hdrToken, scratch *[]byte, s []byte, specials string, term byte) (int, []byte) {
	buf := (*scratch)[:0]
	type span struct{ typ, off int }
	var spans [4]span
	count := 0
	i := 0
	at := func(j int) byte {
		if j < len(s) {
			return s[j]
		}
		return 0
	}
	var ch byte
	for {
		ch = at(i)
		if ch == 0 || (term == 0 && count >= len(toks)) {
			break
		}
		i++
		if ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' {
			continue
		}
		if term != 0 && ch == term {
			break
		}
		switch {
		case ch == '(':
			level := 1
			for {
				c := at(i)
				if c == 0 {
					break
				}
				i++
				if c == '(' {
					level++
				} else if c == ')' {
					if level--; level == 0 {
						break
					}
				} else if c == '\\' {
					if at(i) == 0 {
						break
					}
					i++
				}
			}
		case ch == '"':
			keep := count < len(toks)
			if keep {
				spans[count] = span{tokQString, len(buf)}
			}
			for {
				c := at(i)
				if c == 0 {
					break
				}
				i++
				if c == '"' {
					break
				}
				if c == '\n' { // unfold
					if keep {
						for len(buf) > spans[count].off && isLWSP(buf[len(buf)-1]) {
							buf = buf[:len(buf)-1]
						}
					}
					continue
				}
				if c == '\\' {
					if keep {
						buf = append(buf, c)
					}
					if at(i) == 0 {
						break
					}
					c = at(i)
					i++
				}
				if keep {
					buf = append(buf, c)
				}
			}
			if keep {
				buf = append(buf, 0)
				count++
			}
		case strings.IndexByte(specials, ch) >= 0 || ch < 0x20 || ch == 0x7f:
			if count < len(toks) {
				spans[count] = span{int(ch), len(buf)}
				buf = append(buf, ch, 0)
				count++
			}
		default:
			keep := count < len(toks)
			if keep {
				spans[count] = span{tokToken, len(buf)}
				buf = append(buf, ch)
			}
			for {
				c := at(i)
				if c == 0 || isLWSP(c) || c < 0x20 || c == 0x7f || strings.IndexByte(specials, c) >= 0 {
					break
				}
				i++
				if keep {
					buf = append(buf, c)
				}
			}
			if keep {
				buf = append(buf, 0)
				count++
			}
		}
	}
	*scratch = buf
	if count == 0 && ch == 0 {
		return -1, s[min(i, len(s)):]
	}
	for n := 0; n < count; n++ {
		end := spans[n].off
		for buf[end] != 0 {
			end++
		}
		toks[n] = hdrToken{typ: spans[n].typ, val: buf[spans[n].off:end]}
	}
	return count, s[min(i, len(s)):]
}

func isLWSP(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// tokenIs reports whether t is an atom equal to word, ignoring case.
func tokenIs(t hdrToken, word string) bool {
	return t.typ == tokToken && strings.EqualFold(string(t.val), word)
}

// Header kinds the MIME state machine treats specially (header_opts(3)).
const (
	hdrOther = iota
	hdrContentType
	hdrContentEncoding
	hdrMIMEOther // another MIME header: Content-Description, -Disposition, -ID, MIME-Version
)

// headerKind returns the header_opts kind of the header named name.
// MIME headers go to mime_header_checks wherever they appear.
func headerKind(name []byte) int {
	for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
		name = name[:len(name)-1]
	}
	switch len(name) {
	case 12:
		if strings.EqualFold(string(name), "Content-Type") {
			return hdrContentType
		}
		if strings.EqualFold(string(name), "MIME-Version") {
			return hdrMIMEOther
		}
	case 25:
		if strings.EqualFold(string(name), "Content-Transfer-Encoding") {
			return hdrContentEncoding
		}
	case 10:
		if strings.EqualFold(string(name), "Content-ID") {
			return hdrMIMEOther
		}
	case 19:
		if strings.EqualFold(string(name), "Content-Description") || strings.EqualFold(string(name), "Content-Disposition") {
			return hdrMIMEOther
		}
	}
	return hdrOther
}
