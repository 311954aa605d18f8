package imap

import (
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// errBadUTF7 reports a mailbox name that is not valid modified UTF-7.
var errBadUTF7 = errors.New("imap: invalid modified UTF-7 mailbox name")

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

var b64index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(b64chars); i++ {
		t[b64chars[i]] = int8(i)
	}
	return
}()

// EncodeMailboxName returns the modified UTF-7 form (RFC 3501 5.1.3) of a
// UTF-8 mailbox name, as it goes on the wire to clients that have not
// enabled UTF8=ACCEPT.
func EncodeMailboxName(s string) string {
	var b strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		b.WriteByte('&')
		u := utf16.Encode(pending)
		var bits uint32
		var n uint
		for _, c := range u {
			bits = bits<<16 | uint32(c)
			n += 16
			for n >= 6 {
				n -= 6
				b.WriteByte(b64chars[(bits>>n)&0x3f])
			}
		}
		if n > 0 {
			b.WriteByte(b64chars[(bits<<(6-n))&0x3f])
		}
		b.WriteByte('-')
		pending = pending[:0]
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
		pending = append(pending, r)
	}
	flush()
	return b.String()
}

// DecodeMailboxName turns a modified UTF-7 mailbox name from a client into
// UTF-8. It rejects what RFC 3501 forbids: 8-bit bytes, unterminated or
// empty shifts other than "&-", encoded printable ASCII, bad padding,
// unpaired surrogates, and two adjacent encoded runs.
func DecodeMailboxName(s string) (string, error) {
	if !strings.ContainsRune(s, '&') {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return "", errBadUTF7
			}
		}
		return s, nil
	}
	var b strings.Builder
	lastEncodedEnd := -1
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errBadUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", errBadUTF7
		}
		enc := s[i+1 : i+1+j]
		if enc == "" {
			b.WriteByte('&')
			i += 2
			continue
		}
		if lastEncodedEnd == i {
			return "", errBadUTF7 // "&AGE-&AGE-" must have been one run
		}
		var bits uint32
		var n uint
		var units []uint16
		for k := 0; k < len(enc); k++ {
			v := b64index[enc[k]]
			if v < 0 {
				return "", errBadUTF7
			}
			bits = bits<<6 | uint32(v)
			n += 6
			if n >= 16 {
				n -= 16
				units = append(units, uint16(bits>>n))
				bits &= 1<<n - 1
			}
		}
		if n >= 6 || bits != 0 {
			return "", errBadUTF7 // leftover bits must be zero padding
		}
		runes := utf16.Decode(utf16Units(units))
		for _, r := range runes {
			if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
				return "", errBadUTF7
			}
			b.WriteRune(r)
		}
		i += 1 + j + 1
		lastEncodedEnd = i
	}
	return b.String(), nil
}

func utf16Units(u []uint16) []uint16 {
	// utf16.Decode maps unpaired surrogates to U+FFFD, which the caller
	// rejects; nothing else to do here.
	return u
}
