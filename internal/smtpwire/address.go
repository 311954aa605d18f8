package smtpwire

import (
	"strings"
	"unicode/utf8"
)

// MaxPathLength is the longest mailbox accepted in a path (RFC 5321
// 4.5.3.1.3 allows 256 octets for the path including the brackets).
const MaxPathLength = 256

// MaxParams bounds the ESMTP parameters of one MAIL or RCPT command.
const MaxParams = 16

// Param is one ESMTP parameter of MAIL or RCPT (RFC 5321 4.1.2
// esmtp-param): Key in upper case, Value as sent ("" when absent).
type Param struct {
	Key   string
	Value string
}

// ParsePathArg parses the argument of MAIL or RCPT: prefix ("FROM:" or
// "TO:", case-insensitive), optional spaces (Postfix tolerates them), a
// path in angle brackets (or, as Postfix accepts by default, a bare
// address without spaces) and ESMTP parameters. It returns the mailbox
// ("" for the null path <>) and the parameters. A source route
// (<@a,@b:user@c>) is accepted and dropped (RFC 5321 4.1.1.3, C.6).
// The mailbox is checked with ParseMailbox, except that "<>" and, when
// allowNoDomain, a mailbox without a domain (RCPT TO:<postmaster>) pass.
func ParsePathArg(arg, prefix string, allowNoDomain bool) (string, []Param, error) {
	path, rest, err := splitPathArg(arg, prefix)
	if err != nil {
		return "", nil, err
	}
	if len(path) > MaxPathLength {
		return "", nil, ErrSyntax
	}
	if strings.HasPrefix(path, "@") {
		i := strings.IndexByte(path, ':')
		if i < 0 {
			return "", nil, ErrSyntax
		}
		path = path[i+1:]
	}
	if path != "" {
		if _, _, err := ParseMailbox(path); err != nil {
			if !allowNoDomain || !strings.EqualFold(path, "postmaster") {
				return "", nil, err
			}
		}
	}
	params, err := ParseParams(rest)
	if err != nil {
		return "", nil, err
	}
	return path, params, nil
}

// splitPathArg cuts the argument of MAIL or RCPT after its prefix into
// the path (without its angle brackets) and the rest (the parameters,
// after a space).
func splitPathArg(arg, prefix string) (path, rest string, err error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", "", ErrSyntax
	}
	rest = strings.TrimLeft(arg[len(prefix):], " ")
	if strings.HasPrefix(rest, "<") {
		end := closingBracket(rest)
		if end < 0 {
			return "", "", ErrSyntax
		}
		path, rest = rest[1:end], rest[end+1:]
		if rest != "" && rest[0] != ' ' {
			return "", "", ErrSyntax
		}
		return path, rest, nil
	}
	path, rest, _ = strings.Cut(rest, " ")
	if path == "" {
		return "", "", ErrSyntax
	}
	return path, " " + rest, nil
}

// ParsePathArgLoose is ParsePathArg as Postfix's smtpd parses a path with
// strict_rfc821_envelopes = no, its default: the address is not held to
// RFC 5321's grammar ("user" without a domain, "a@@b", "x@y@z" pass, for
// the restrictions and the address resolver to judge), but it must be
// valid UTF-8 of at most MaxPathLength bytes without control characters,
// spaces or angle brackets outside quotes (spaces next to the brackets
// are dropped), and with its quotes closed.
func ParsePathArgLoose(arg, prefix string) (string, []Param, error) {
	path, rest, err := splitPathArg(arg, prefix)
	if err != nil {
		return "", nil, err
	}
	// Postfix's tokenizer drops white space around the address.
	path = strings.Trim(path, " \t")
	if len(path) > MaxPathLength || !utf8.ValidString(path) {
		return "", nil, ErrSyntax
	}
	// A source route is dropped; "@domain" without one is an address
	// with an empty local part (MAILER-DAEMON to Postfix).
	if strings.HasPrefix(path, "@") {
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path = path[i+1:]
		}
	}
	inQuote := false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c < 0x20 || c == 0x7f:
			return "", nil, ErrSyntax
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ' ' || c == '<' || c == '>'):
			return "", nil, ErrSyntax
		}
	}
	if inQuote {
		return "", nil, ErrSyntax
	}
	params, err := ParseParams(rest)
	if err != nil {
		return "", nil, err
	}
	return path, params, nil
}

// closingBracket finds the '>' that closes the path starting at s[0],
// skipping quoted strings.
func closingBracket(s string) int {
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '>':
			return i
		}
	}
	return -1
}

// ParseParams parses space-separated ESMTP parameters "KEY[=VALUE]".
func ParseParams(s string) ([]Param, error) {
	var out []Param
	for _, f := range strings.Fields(s) {
		if len(out) == MaxParams {
			return nil, ErrSyntax
		}
		k, v, _ := strings.Cut(f, "=")
		if k == "" {
			return nil, ErrSyntax
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' && i > 0) {
				return nil, ErrSyntax
			}
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x21 || v[i] == '=' || v[i] == 0x7f {
				if v[i] < 0x80 {
					return nil, ErrSyntax
				}
			}
		}
		out = append(out, Param{Key: strings.ToUpper(k), Value: v})
	}
	return out, nil
}

// ParseMailbox splits an address "local@domain" into its parts and checks
// its syntax (RFC 5321 4.1.2 Mailbox, with RFC 6531's UTF-8 allowed in
// both parts; use IsASCII to require SMTPUTF8 for it). The local part may
// be a quoted string; the domain may be an address literal "[...]".
func ParseMailbox(s string) (local, domain string, err error) {
	if !utf8.ValidString(s) || len(s) > MaxPathLength {
		return "", "", ErrSyntax
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return "", "", ErrSyntax
	}
	local, domain = s[:at], s[at+1:]
	if !validLocal(local) || !validDomain(domain) {
		return "", "", ErrSyntax
	}
	return local, domain, nil
}

func validLocal(l string) bool {
	if strings.HasPrefix(l, `"`) {
		if len(l) < 2 || !strings.HasSuffix(l, `"`) {
			return false
		}
		q := l[1 : len(l)-1]
		for i := 0; i < len(q); i++ {
			c := q[i]
			switch {
			case c == '\\':
				i++
				if i == len(q) || q[i] < 0x20 && q[i] != '\t' {
					return false
				}
			case c == '"' || c < 0x20 && c != '\t' || c == 0x7f:
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if !isAtext(l[i]) && l[i] != '.' {
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func validDomain(d string) bool {
	if d == "" || len(d) > 255 {
		return false
	}
	if d[0] == '[' {
		if d[len(d)-1] != ']' || len(d) < 3 {
			return false
		}
		for i := 1; i < len(d)-1; i++ {
			c := d[i]
			if c <= 0x20 || c == '[' || c == ']' || c == '\\' || c >= 0x7f {
				return false
			}
		}
		return true
	}
	for _, label := range strings.Split(strings.TrimSuffix(d, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c >= 0x80) {
				return false
			}
		}
	}
	return true
}

// IsASCII reports whether s has only 7-bit bytes; a path that is not
// needs the SMTPUTF8 parameter (RFC 6531 3.4).
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
