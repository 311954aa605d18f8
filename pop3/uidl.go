package pop3

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// uidlFormat is a compiled pop3_uidl_format.
//
// The syntax is Dovecot's variable expansion: "%" [ "-" ] [ "0" ]
// [ digits ] [ "." [ "0" ] digits ] modifiers variable. Variables are u
// (UID), v (UIDVALIDITY), f (the format's file name), g (the message
// GUID), also spelt %{uid}, %{uidvalidity}, %{filename}, %{guid}; "%%" is
// a percent sign. Modifiers: X (decimal to lower-case hex, as Dovecot
// prints it despite the capital), L and U (case), R (reverse), T (trim
// spaces), M (MD5 in hex), E (backslash-escape ' \ and "). A width with a
// leading zero pads with zeros on the left and never truncates; other
// widths, with an optional offset before ".", take a substring
// (negative offsets count from the end).
type uidlFormat struct {
	parts []uidlPart
}

type uidlPart struct {
	lit       string // literal text when v == 0
	v         byte   // 'u', 'v', 'f', 'g'
	mods      string
	offset    int
	width     int
	hasWidth  bool
	zeroPad   bool
	hasOffset bool
}

type uidlVars struct {
	uid, uidValidity uint32
	fileName, guid   string
}

// maxUIDLWidth caps widths and offsets (a UIDL is at most 70 characters
// by RFC 1939 anyway).
const maxUIDLWidth = 255

var uidlLongNames = map[string]byte{"uid": 'u', "uidvalidity": 'v', "filename": 'f', "guid": 'g'}

// ValidateUIDLFormat reports whether format is a usable pop3_uidl_format
// for a store-backed server: %m (the header MD5 of mbox) is refused
// because no store gives it.
func ValidateUIDLFormat(format string) error {
	_, err := parseUIDLFormat(format)
	return err
}

func parseUIDLFormat(format string) (*uidlFormat, error) {
	f := &uidlFormat{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.parts = append(f.parts, uidlPart{lit: lit.String()})
			lit.Reset()
		}
	}
	i := 0
	for i < len(format) {
		c := format[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		i++
		var p uidlPart
		sign := 1
		if i < len(format) && format[i] == '-' {
			sign = -1
			i++
		}
		if i < len(format) && format[i] == '0' {
			p.zeroPad = true
			i++
		}
		n, j := digits(format, i)
		if j > i {
			p.hasWidth = true
		}
		i = j
		if i < len(format) && format[i] == '.' {
			p.hasOffset = true
			p.offset = sign * n
			sign = 1
			i++
			if i < len(format) && format[i] == '0' {
				p.zeroPad = true
				i++
			}
			n, j = digits(format, i)
			p.hasWidth = j > i
			i = j
		}
		p.width = sign * n
		for i < len(format) && strings.IndexByte("XLURTME", format[i]) >= 0 {
			p.mods += string(format[i])
			i++
		}
		if i >= len(format) {
			return nil, fmt.Errorf("pop3: uidl format %q: %% at the end", format)
		}
		switch c := format[i]; {
		case c == '%':
			lit.WriteByte('%')
			i++
			continue
		case c == '{':
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("pop3: uidl format %q: unterminated %%{", format)
			}
			name := format[i+1 : i+end]
			v, ok := uidlLongNames[name]
			if !ok {
				return nil, fmt.Errorf("pop3: uidl format %q: unknown variable %%{%s}", format, name)
			}
			p.v = v
			i += end + 1
		case c == 'u' || c == 'v' || c == 'f' || c == 'g':
			p.v = c
			i++
		case c == 'm':
			return nil, fmt.Errorf("pop3: uidl format %q: %%m (header MD5) exists only for mbox and no store provides it", format)
		default:
			return nil, fmt.Errorf("pop3: uidl format %q: unknown variable %%%c", format, c)
		}
		flush()
		f.parts = append(f.parts, p)
	}
	flush()
	if len(f.parts) == 0 {
		return nil, fmt.Errorf("pop3: empty uidl format")
	}
	return f, nil
}

func digits(s string, i int) (int, int) {
	n := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n < maxUIDLWidth {
			n = min(n*10+int(s[i]-'0'), maxUIDLWidth)
		}
		i++
	}
	return n, i
}

func (f *uidlFormat) expand(v uidlVars) string { return string(f.appendExpand(nil, v)) }

// appendExpand appends the unique-id f gives for v to dst. A UID or
// UIDVALIDITY with no modifier but X (the common pop3_uidl_format %08Xu%08Xv) is
// formatted without allocating.
func (f *uidlFormat) appendExpand(dst []byte, v uidlVars) []byte {
	for _, p := range f.parts {
		if p.v == 0 {
			dst = append(dst, p.lit...)
			continue
		}
		if (p.v == 'u' || p.v == 'v') && (p.mods == "" || p.mods == "X") {
			n := uint64(v.uid)
			if p.v == 'v' {
				n = uint64(v.uidValidity)
			}
			base := 10
			if p.mods == "X" {
				base = 16
			}
			var nb [20]byte
			val := strconv.AppendUint(nb[:0], n, base)
			zeros, start, end := p.bounds(len(val))
			for ; zeros > 0; zeros-- {
				dst = append(dst, '0')
			}
			dst = append(dst, val[start:end]...)
			continue
		}
		var val string
		switch p.v {
		case 'u':
			val = strconv.FormatUint(uint64(v.uid), 10)
		case 'v':
			val = strconv.FormatUint(uint64(v.uidValidity), 10)
		case 'f':
			val = v.fileName
		case 'g':
			val = v.guid
		}
		for _, m := range []byte(p.mods) {
			val = applyModifier(m, val)
		}
		dst = append(dst, p.shape(val)...)
	}
	return dst
}

func applyModifier(m byte, val string) string {
	switch m {
	case 'X':
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			n = 0
		}
		return strconv.FormatUint(n, 16)
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
	case 'T':
		return strings.TrimRight(val, " ")
	case 'M':
		sum := md5.Sum([]byte(val))
		return hex.EncodeToString(sum[:])
	case 'E':
		return strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`).Replace(val)
	}
	return val
}

// shape applies zero padding or the offset/width substring.
func (p uidlPart) shape(val string) string {
	zeros, start, end := p.bounds(len(val))
	if zeros > 0 {
		return strings.Repeat("0", zeros) + val
	}
	return val[start:end]
}

// bounds gives, for a value of n bytes, how many zeros go before it and
// which part of it is kept.
func (p uidlPart) bounds(n int) (zeros, start, end int) {
	if p.zeroPad {
		return max(p.width-n, 0), 0, n
	}
	if !p.hasOffset && !p.hasWidth {
		return 0, 0, n
	}
	if p.offset > 0 {
		if p.offset >= n {
			return 0, n, n
		}
		start = p.offset
	} else if p.offset < 0 {
		start = max(n+p.offset, 0)
	}
	end = n
	if p.hasWidth && p.width >= 0 && p.width < end-start {
		end = start + p.width
	}
	return 0, start, end
}
