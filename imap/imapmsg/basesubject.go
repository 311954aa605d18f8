package imapmsg

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CaseMap returns s in the canonical form of the i;unicode-casemap
// collation (RFC 5051) as Dovecot 2.3 computes it
// (uni_utf8_to_decomposed_titlecase): every character titlecased, then
// replaced by its decomposition one level deep (RFC 5051 asks for
// NFKD; Dovecot does not decompose the result again, so "Ầ" becomes
// "Â" and U+0300); titlecase letters (ǅ) are not decomposed, Hangul
// syllables are (casemap_table.go, gen_casemap.py). Two strings
// are equal under the collation when their CaseMap forms are equal,
// and order by comparing those forms as bytes. A run of invalid UTF-8
// becomes one U+FFFD.
func CaseMap(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		// Titlecase of ASCII is uppercase; nothing decomposes.
		return upperASCII(s)
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	invalid := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 {
			if !invalid {
				b.WriteRune(utf8.RuneError)
			}
			invalid = true
			continue
		}
		invalid = false
		r = unicode.ToTitle(r)
		switch {
		case r >= hangulFirst && r <= hangulLast:
			// Hangul syllables decompose into their jamo (Unicode
			// 3.12).
			n := r - hangulFirst
			b.WriteRune(0x1100 + n/(21*28))
			b.WriteRune(0x1161 + n%(21*28)/28)
			if t := n % 28; t != 0 {
				b.WriteRune(0x11a7 + t)
			}
		default:
			if d, ok := casemapDecomp[r]; ok {
				b.WriteString(d)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// The Hangul syllables.
const (
	hangulFirst = 0xac00
	hangulLast  = 0xd7a3
)

//go:generate sh -c "python3 gen_casemap.py > casemap_table.go"

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// maxSubjectBytes bounds the subject BaseSubject works on.
const maxSubjectBytes = 8192

// BaseSubject returns the base subject of a Subject: value (RFC 5256
// 2.1) in i;unicode-casemap form, and whether the subject was a reply or
// forward (it had "Re:", "Fwd:", "(fwd)" or "[fwd: ...]" taken off).
// Encoded words are decoded first. The steps follow RFC 5256 as
// Dovecot's imap_get_base_subject_cased implements them.
func BaseSubject(subject string) (base string, replyOrFwd bool) {
	if len(subject) > maxSubjectBytes {
		cut := maxSubjectBytes
		for cut > 0 && !utf8.RuneStart(subject[cut]) {
			cut--
		}
		subject = subject[:cut]
	}
	// (1) Decode, casemap, and turn runs of white space into one space
	// (a leading run becomes one space; a trailing run goes).
	s := packWhitespace(CaseMap(decodeHeaderValue(subject)))
	start, end := 0, len(s)
	for {
		// (2) Trailers: white space and "(FWD)".
		for end > start {
			if s[end-1] == ' ' {
				end--
			} else if end-start >= 5 && s[end-5:end] == "(FWD)" {
				replyOrFwd = true
				end -= 5
			} else {
				break
			}
		}
		for {
			// (3) subj-leader; (4) a subj-blob that leaves a
			// non-empty base; (5) repeat.
			found := false
			if n, rf, ok := subjLeader(s[start:end]); ok {
				start += n
				found = true
				replyOrFwd = replyOrFwd || rf
			}
			if n, ok := blob(s[start:end]); ok && start+n < end {
				start += n
				found = true
			}
			if !found {
				break
			}
		}
		// (6) "[FWD:" ... "]" around the whole: take it off, repeat.
		if end-start >= 6 && strings.HasPrefix(s[start:end], "[FWD:") && s[end-1] == ']' {
			replyOrFwd = true
			start += 5
			end--
			continue
		}
		return s[start:end], replyOrFwd
	}
}

// packWhitespace turns every run of space, tab, CR and LF into one
// space, dropping a trailing run.
func packWhitespace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	lwsp := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
			lwsp = true
		default:
			if lwsp {
				b.WriteByte(' ')
				lwsp = false
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// blob matches subj-blob ("[" *BLOBCHAR "]" [SP]) at the start of s and
// returns its length.
func blob(s string) (int, bool) {
	if len(s) == 0 || s[0] != '[' {
		return 0, false
	}
	i := 1
	for i < len(s) && s[i] != '[' && s[i] != ']' {
		i++
	}
	if i == len(s) || s[i] != ']' {
		return 0, false
	}
	i++
	if i < len(s) && s[i] == ' ' {
		i++
	}
	return i, true
}

// subjLeader matches subj-leader at the start of s: a single space, or
// *subj-blob ("RE" / "FW" / "FWD") [SP] [subj-blob] ":". It returns the
// length matched and whether a reply or forward marker was in it.
func subjLeader(s string) (n int, replyOrFwd, ok bool) {
	if len(s) > 0 && s[0] == ' ' {
		// Always removed, whatever follows.
		n, ok = 1, true
	}
	i := n
	for i < len(s) && s[i] == '[' {
		k, found := blob(s[i:])
		if !found {
			return n, false, ok
		}
		i += k
	}
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "RE"):
		i += 2
	case strings.HasPrefix(rest, "FWD"):
		i += 3
	case strings.HasPrefix(rest, "FW"):
		i += 2
	default:
		return n, false, ok
	}
	if i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == '[' {
		k, found := blob(s[i:])
		if !found {
			return n, false, ok
		}
		i += k
	}
	if i >= len(s) || s[i] != ':' {
		return n, false, ok
	}
	return i + 1, true, true
}
