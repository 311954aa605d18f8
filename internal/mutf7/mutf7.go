// Package mutf7 is modified UTF-7 (RFC 3501 5.1.3), the encoding of
// mailbox names on disk that Dovecot uses in Maildir++ folder names, in
// sdbox's mailboxes/ tree and in mbox file names, shared by the stores.
package mutf7

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 is how Dovecot writes mailbox names on disk: printable
// ASCII stands for itself except "&" ("&-"), everything
// else is UTF-16 in a base64 variant ("," instead of "/", no padding)
// between "&" and "-".

const mutf7Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// ErrBad is returned by Decode for a name that is not modified UTF-7.
var ErrBad = errors.New("bad modified UTF-7")

// Encode encodes a UTF-8 string in modified UTF-7.
func Encode(s string) string {
	var b strings.Builder
	var units []uint16
	flush := func() {
		if len(units) == 0 {
			return
		}
		b.WriteByte('&')
		var acc uint32
		bits := 0
		for _, u := range units {
			acc = acc<<16 | uint32(u)
			bits += 16
			for bits >= 6 {
				bits -= 6
				b.WriteByte(mutf7Alphabet[(acc>>uint(bits))&0x3f])
			}
		}
		if bits > 0 {
			b.WriteByte(mutf7Alphabet[(acc<<uint(6-bits))&0x3f])
		}
		b.WriteByte('-')
		units = units[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		units = utf16.AppendRune(units, r)
	}
	flush()
	return b.String()
}

// Decode decodes modified UTF-7 to UTF-8, as the stores read names
// on disk.
func Decode(s string) (string, error) { return decode(s, false) }

// DecodeStrict is Decode with RFC 3501's rule for names from IMAP
// clients as well: two adjacent encoded runs ("&AGE-&AGE-") must have
// been one, and are refused.
func DecodeStrict(s string) (string, error) { return decode(s, true) }

func decode(s string, strict bool) (string, error) {
	if strings.IndexByte(s, '&') < 0 {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return "", ErrBad
			}
		}
		return s, nil
	}
	var b strings.Builder
	lastEncodedEnd := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrBad
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", ErrBad
		}
		enc := s[i+1 : i+1+end]
		if enc == "" {
			b.WriteByte('&')
			i++
			continue
		}
		if strict && lastEncodedEnd == i {
			return "", ErrBad // "&AGE-&AGE-" must have been one run
		}
		i += end + 1
		var acc uint32
		bits := 0
		var units []uint16
		for j := 0; j < len(enc); j++ {
			v := strings.IndexByte(mutf7Alphabet, enc[j])
			if v < 0 {
				return "", ErrBad
			}
			acc = acc<<6 | uint32(v)
			bits += 6
			if bits >= 16 {
				bits -= 16
				units = append(units, uint16(acc>>uint(bits)))
			}
		}
		if bits >= 6 || acc&(1<<uint(bits)-1) != 0 || len(units) == 0 {
			return "", ErrBad
		}
		for _, r := range utf16.Decode(units) {
			if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
				return "", ErrBad
			}
			b.WriteRune(r)
		}
		lastEncodedEnd = i + 1
	}
	return b.String(), nil
}
