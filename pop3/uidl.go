package pop3

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/yubinmail/yubin/internal/varexpand"
)

// uidlFormat is a compiled pop3_uidl_format.
//
// The syntax is Dovecot's variable expansion (internal/varexpand, shared
// with auth's templates): "%" [ "-" ] [ "0" ] [ digits ] [ "." [ "0" ]
// digits ] modifiers variable. Variables are u (UID), v (UIDVALIDITY), f
// (the format's file name), g (the message GUID), also spelt %{uid},
// %{uidvalidity}, %{filename}, %{guid}; "%%" is a percent sign.
// Modifiers: X (decimal to lower-case hex, as Dovecot prints it despite
// the capital), L and U (case), R (reverse), T (trim spaces), M (MD5 in
// hex), E (backslash-escape ' \ and "), H (hash), D (dots to ",dc="). A
// width with a leading zero pads with zeros on the left and never
// truncates; other widths, with an optional offset before ".", take a
// substring (negative offsets count from the end).
type uidlFormat struct {
	parts varexpand.Template
	vars  []byte // per part: 'u', 'v', 'f', 'g', or 0 for a literal
}

type uidlVars struct {
	uid, uidValidity uint32
	fileName, guid   string
}

// maxUIDLWidth caps widths and offsets (a UIDL is at most 70 characters
// by RFC 1939 anyway).
const maxUIDLWidth = 255

// uidlSyntax is pop3_uidl_format's: Dovecot's pop3 variables, %m (the
// header MD5 of mbox) among them to be refused by name.
var uidlSyntax = varexpand.Syntax{
	Short:    map[byte]string{'u': "uid", 'v': "uidvalidity", 'f': "filename", 'g': "guid", 'm': "md5"},
	MaxWidth: maxUIDLWidth,
}

var uidlLongNames = map[string]byte{"uid": 'u', "uidvalidity": 'v', "filename": 'f', "guid": 'g'}

// ValidateUIDLFormat reports whether format is a usable pop3_uidl_format
// for a store-backed server: %m (the header MD5 of mbox) is refused
// because no store gives it.
func ValidateUIDLFormat(format string) error {
	_, err := parseUIDLFormat(format)
	return err
}

func parseUIDLFormat(format string) (*uidlFormat, error) {
	t, err := varexpand.Parse(format, uidlSyntax)
	if err != nil {
		var e *varexpand.Error
		if errors.As(err, &e) {
			return nil, fmt.Errorf("pop3: uidl format %q: %s", format, e.Msg)
		}
		return nil, fmt.Errorf("pop3: uidl format %q: %w", format, err)
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("pop3: empty uidl format")
	}
	f := &uidlFormat{parts: t, vars: make([]byte, len(t))}
	for i, p := range t {
		if p.Name == "" {
			continue
		}
		if p.Name == "md5" {
			return nil, fmt.Errorf("pop3: uidl format %q: %%m (header MD5) exists only for mbox and no store provides it", format)
		}
		v, ok := uidlLongNames[p.Name]
		if !ok {
			return nil, fmt.Errorf("pop3: uidl format %q: unknown variable %%{%s}", format, p.Name)
		}
		f.vars[i] = v
	}
	return f, nil
}

func (f *uidlFormat) expand(v uidlVars) string { return string(f.appendExpand(nil, v)) }

// appendExpand appends the unique-id f gives for v to dst. A UID or
// UIDVALIDITY with no modifier but X (the common pop3_uidl_format %08Xu%08Xv) is
// formatted without allocating.
func (f *uidlFormat) appendExpand(dst []byte, v uidlVars) []byte {
	for i, p := range f.parts {
		pv := f.vars[i]
		if pv == 0 {
			dst = append(dst, p.Lit...)
			continue
		}
		if (pv == 'u' || pv == 'v') && (p.Mods == "" || p.Mods == "X") {
			n := uint64(v.uid)
			if pv == 'v' {
				n = uint64(v.uidValidity)
			}
			base := 10
			if p.Mods == "X" {
				base = 16
			}
			var nb [20]byte
			val := strconv.AppendUint(nb[:0], n, base)
			zeros, start, end := p.Bounds(len(val))
			for ; zeros > 0; zeros-- {
				dst = append(dst, '0')
			}
			dst = append(dst, val[start:end]...)
			continue
		}
		var val string
		switch pv {
		case 'u':
			val = strconv.FormatUint(uint64(v.uid), 10)
		case 'v':
			val = strconv.FormatUint(uint64(v.uidValidity), 10)
		case 'f':
			val = v.fileName
		case 'g':
			val = v.guid
		}
		dst = append(dst, p.Apply(val)...)
	}
	return dst
}
