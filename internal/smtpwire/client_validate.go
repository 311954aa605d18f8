package smtpwire

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidField is wrapped by every FieldError: a caller-supplied
// value the client refused to write.
var ErrInvalidField = errors.New("invalid field")

// FieldError is returned by the client engine for a value it will not
// put on the wire: an address, an EHLO name, a MAIL or RCPT parameter or
// a SASL mechanism that does not match the protocol's grammar. Nothing
// of the command is written, so no value can inject a command (a CR, LF
// or NUL in any field is always refused).
//
// Reply, when set, is the reply an SMTP server would have given, so that
// a sender can bounce or defer the way it does for a remote refusal: 501
// 5.1.3 for a recipient, 501 5.1.7 for a sender, 501 5.5.4 for a
// parameter. errors.As finds it as *Error; errors.Is finds
// ErrInvalidField.
type FieldError struct {
	// Field names the value ("recipient address", "NOTIFY", "EHLO name").
	Field string
	// Value is the refused value.
	Value string
	// Reason says what is wrong with it.
	Reason string
	// Reply is the equivalent server reply, nil for values that concern
	// the client's configuration (EHLO name, SASL mechanism).
	Reply *Error
}

// Error implements error; the value is quoted, so control characters show.
func (e *FieldError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:80] + "..."
	}
	return fmt.Sprintf("invalid %s %q: %s", e.Field, v, e.Reason)
}

// Unwrap returns ErrInvalidField and, when set, Reply.
func (e *FieldError) Unwrap() []error {
	if e.Reply == nil {
		return []error{ErrInvalidField}
	}
	return []error{ErrInvalidField, e.Reply}
}

func fieldErr(field, value, reason string, code int, enh Enhanced, text string) *FieldError {
	e := &FieldError{Field: field, Value: value, Reason: reason}
	if code != 0 {
		e.Reply = &Error{Code: code, Enhanced: enh, Message: text}
	}
	return e
}

// hasControl reports whether s has a byte below 0x20 or DEL: CR, LF, NUL,
// TAB and the rest never appear in anything the client writes.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// CheckHeloName checks an EHLO/HELO/LHLO argument (RFC 5321 4.1.1.1): a
// domain name (letters, digits, hyphens, dots) or an address literal
// "[192.0.2.1]" / "[IPv6:...]", at most 255 octets.
func CheckHeloName(name string) error {
	bad := func(reason string) error {
		return &FieldError{Field: "EHLO name", Value: name, Reason: reason}
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > 255:
		return bad("longer than 255 octets")
	case hasControl(name):
		return bad("control character")
	}
	if name[0] == '[' {
		if len(name) < 3 || name[len(name)-1] != ']' {
			return bad("address literal without ']'")
		}
		for i := 1; i < len(name)-1; i++ {
			c := name[i]
			if !(isAlnum(c) || c == '.' || c == ':' || c == '-') {
				return bad("character not allowed in an address literal")
			}
		}
		return nil
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			return bad("empty or overlong label")
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' && c != '_' {
				return bad("character not allowed in a domain name")
			}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// checkPath checks a MAIL or RCPT mailbox: RFC 5321 4.1.2 syntax with
// RFC 6531 UTF-8 (ParseMailbox), at most MaxPathLength octets, no control
// character even inside a quoted local part. A bare local part (no
// "@domain") passes when bareLocal is set (LMTP servers such as
// Dovecot's take user names) and "postmaster" always passes for RCPT.
func checkPath(addr string, rcpt, bareLocal bool) error {
	field, code, enh, text := "sender address", 501, Enhanced{5, 1, 7}, "Bad sender address syntax"
	if rcpt {
		field, enh, text = "recipient address", Enhanced{5, 1, 3}, "Bad recipient address syntax"
	}
	bad := func(reason string) error { return fieldErr(field, addr, reason, code, enh, text) }
	switch {
	case addr == "" && rcpt:
		return bad("empty")
	case addr == "":
		return nil // the null sender <>
	case len(addr) > MaxPathLength:
		return bad("longer than 256 octets")
	case hasControl(addr):
		return bad("control character")
	case !utf8.ValidString(addr):
		return bad("not UTF-8")
	}
	if _, _, err := ParseMailbox(addr); err == nil {
		return nil
	}
	if (bareLocal || rcpt && strings.EqualFold(addr, "postmaster")) && !strings.Contains(unquoted(addr), "@") {
		if _, _, err := ParseMailbox(addr + "@x"); err == nil {
			return nil
		}
	}
	return bad("not a valid mailbox")
}

// unquoted returns s without its quoted strings, to look for a bare '@'.
func unquoted(s string) string {
	if !strings.HasPrefix(s, `"`) {
		return s
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[i+1:]
		}
	}
	return ""
}

// ValidXtext reports whether s is xtext (RFC 3461 4): printable ASCII
// other than "+" and "=", with "+" followed by two upper-case hex digits
// standing for any octet. The empty string is not valid.
func ValidXtext(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
				return false
			}
			i += 2
		case c < 0x21 || c > 0x7e || c == '=':
			return false
		}
	}
	return true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// EncodeXtext encodes a raw value as xtext (RFC 3461 4): "+", "=",
// spaces, controls and non-ASCII octets become "+HH". Use it for ENVID,
// the address in ORCPT ("rfc822;" + EncodeXtext(addr)) and AUTH= when
// holding a raw value; the client sends these parameters as given and
// refuses invalid xtext.
func EncodeXtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '+' || c == '=' {
			b.WriteByte('+')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// checkNotify checks a DSN NOTIFY value (RFC 3461 4.1): "NEVER" or a
// comma list of SUCCESS, FAILURE and DELAY, each at most once. It
// returns the value in upper case.
func checkNotify(v string) (string, error) {
	bad := func(reason string) (string, error) {
		return "", fieldErr("NOTIFY", v, reason, 501, Enhanced{5, 5, 4}, "Bad NOTIFY parameter syntax")
	}
	u := strings.ToUpper(v)
	if u == "NEVER" {
		return u, nil
	}
	seen := map[string]bool{}
	for _, k := range strings.Split(u, ",") {
		if k != "SUCCESS" && k != "FAILURE" && k != "DELAY" {
			return bad("not NEVER or a list of SUCCESS, FAILURE, DELAY")
		}
		if seen[k] {
			return bad("repeated keyword")
		}
		seen[k] = true
	}
	return u, nil
}

// checkORcpt checks a DSN ORCPT value (RFC 3461 4.2): addr-type ";"
// xtext, at most 500 octets. With the addr-type "utf-8" (RFC 6533) the
// address may also hold UTF-8 characters.
func checkORcpt(v string) error {
	bad := func(reason string) error {
		return fieldErr("ORCPT", v, reason, 501, Enhanced{5, 5, 4}, "Bad ORCPT parameter syntax")
	}
	if len(v) > 500 {
		return bad("longer than 500 octets")
	}
	typ, addr, ok := strings.Cut(v, ";")
	if !ok || typ == "" {
		return bad(`not "type;address"`)
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; !isAlnum(c) && c != '-' {
			return bad("bad address type")
		}
	}
	if strings.EqualFold(typ, "utf-8") && utf8.ValidString(addr) {
		// utf-8-addr-xtext: xtext where UTF-8 characters stand for
		// themselves.
		var ascii strings.Builder
		for _, r := range addr {
			if r >= 0x80 {
				ascii.WriteByte('a')
			} else {
				ascii.WriteRune(r)
			}
		}
		addr = ascii.String()
	}
	if !ValidXtext(addr) {
		return bad("address is not xtext (use EncodeXtext)")
	}
	return nil
}

// checkXtextParam checks ENVID (at most 100 octets, RFC 3461 4.4) or
// AUTH= (xtext or "<>", RFC 4954 5).
func checkXtextParam(name, v string, max int) error {
	if len(v) > max {
		return fieldErr(name, v, fmt.Sprintf("longer than %d octets", max), 501, Enhanced{5, 5, 4}, "Bad "+name+" parameter syntax")
	}
	if name == "AUTH" && v == "<>" {
		return nil
	}
	if !ValidXtext(v) {
		return fieldErr(name, v, "not xtext (use EncodeXtext)", 501, Enhanced{5, 5, 4}, "Bad "+name+" parameter syntax")
	}
	return nil
}

// checkMechanism checks a SASL mechanism name (RFC 4422 3.1): 1 to 20
// upper-case letters, digits, hyphens and underscores.
func checkMechanism(m string) error {
	if m == "" || len(m) > 20 {
		return &FieldError{Field: "SASL mechanism", Value: m, Reason: "not 1 to 20 characters"}
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return &FieldError{Field: "SASL mechanism", Value: m, Reason: "character not allowed"}
		}
	}
	return nil
}
