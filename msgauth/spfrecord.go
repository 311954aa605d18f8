package msgauth

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// maxSPFRecord bounds the length of an SPF record that is parsed (a TXT
// record of several strings can be long; RFC 7208 section 3.4 advises
// keeping it under 450 bytes).
const maxSPFRecord = 4096

// ParseSPFRecord checks an SPF record against RFC 7208's ABNF (section
// 12) and its rules on modifiers (section 6: redirect= and exp= at most
// once) and returns its terms. RFC 7208 section 4.6 requires check_host()
// to return permerror for a syntax error anywhere in the record, before
// evaluating any of it; the SPF library evaluates term by term, so
// msgauth validates the whole record first.
func ParseSPFRecord(rec string) ([]string, error) {
	if len(rec) > maxSPFRecord {
		return nil, errors.New("spf: record too long")
	}
	fields := strings.Split(rec, " ")
	if !strings.EqualFold(fields[0], "v=spf1") {
		return nil, errors.New("spf: not an SPF version 1 record")
	}
	var terms []string
	var redirect, exp bool
	for _, t := range fields[1:] {
		if t == "" {
			continue
		}
		if err := checkSPFTerm(t, &redirect, &exp); err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return terms, nil
}

var errSPFSyntax = errors.New("spf: syntax error")

func checkSPFTerm(t string, redirect, exp *bool) error {
	// A modifier: name "=" ...
	if i := strings.IndexAny(t, "=:/"); i > 0 && t[i] == '=' {
		name := strings.ToLower(t[:i])
		if !isModifierName(name) {
			return errSPFSyntax
		}
		val := t[i+1:]
		switch name {
		case "redirect":
			if *redirect {
				return errors.New("spf: redirect= given twice")
			}
			*redirect = true
			return checkDomainSpec(val, false)
		case "exp":
			if *exp {
				return errors.New("spf: exp= given twice")
			}
			*exp = true
			return checkDomainSpec(val, false)
		default:
			return checkMacroString(val, false)
		}
	}
	if t[0] == '+' || t[0] == '-' || t[0] == '~' || t[0] == '?' {
		t = t[1:]
	}
	name, arg, hasArg := strings.Cut(t, ":")
	lname := asciiLower(name) // same length as name: indexes carry over
	// a and mx may carry a CIDR suffix without ":domain".
	if !hasArg {
		if j := strings.IndexByte(lname, '/'); j >= 0 {
			lname, arg = lname[:j], name[j:]
		}
	}
	switch lname {
	case "all":
		if hasArg || arg != "" {
			return errSPFSyntax
		}
	case "include", "exists":
		if !hasArg {
			return errSPFSyntax
		}
		return checkDomainSpec(arg, false)
	case "ptr":
		if hasArg {
			return checkDomainSpec(arg, false)
		}
		if arg != "" {
			return errSPFSyntax
		}
	case "a", "mx":
		dom, cidr := splitCIDR(arg)
		if hasArg {
			if err := checkDomainSpec(dom, false); err != nil {
				return err
			}
		} else if dom != "" {
			return errSPFSyntax
		}
		return checkDualCIDR(cidr)
	case "ip4":
		if !hasArg {
			return errSPFSyntax
		}
		addr, bits, hasBits := strings.Cut(arg, "/")
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is4() {
			return errSPFSyntax
		}
		if hasBits {
			return checkCIDRLen(bits, 32)
		}
	case "ip6":
		if !hasArg {
			return errSPFSyntax
		}
		addr, bits, hasBits := strings.Cut(arg, "/")
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return errSPFSyntax
		}
		if hasBits {
			return checkCIDRLen(bits, 128)
		}
	default:
		return errSPFSyntax
	}
	return nil
}

func isModifierName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// splitCIDR splits "domain/24//64" into the domain and "/24//64".
func splitCIDR(s string) (string, string) {
	// The domain-spec cannot contain "/" outside a macro's delimiters,
	// so the CIDR starts at the first "/" not inside "%{...}".
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case '/':
			if depth == 0 {
				return s[:i], s[i:]
			}
		}
	}
	return s, ""
}

// checkDualCIDR checks [ "/" ip4-cidr ] [ "//" ip6-cidr ].
func checkDualCIDR(s string) error {
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "//") {
		return checkCIDRLen(s[2:], 128)
	}
	v4, v6, has6 := strings.Cut(s[1:], "//")
	if err := checkCIDRLen(v4, 32); err != nil {
		return err
	}
	if has6 {
		return checkCIDRLen(v6, 128)
	}
	return nil
}

// checkCIDRLen checks "0" / %x31-39 0*2DIGIT within max.
func checkCIDRLen(s string, max int) error {
	if s == "" || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return errSPFSyntax
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return errSPFSyntax
	}
	return nil
}

// checkDomainSpec checks domain-spec = macro-string domain-end, where
// domain-end = ( "." toplabel [ "." ] ) / macro-expand.
func checkDomainSpec(s string, inExp bool) error {
	if s == "" {
		return errSPFSyntax
	}
	if err := checkMacroString(s, inExp); err != nil {
		return err
	}
	t := strings.TrimSuffix(s, ".")
	if strings.HasSuffix(t, "}") {
		return nil // ends in a macro-expand
	}
	i := strings.LastIndexByte(t, '.')
	if i < 0 {
		return errSPFSyntax
	}
	if !isTopLabel(t[i+1:]) {
		return errSPFSyntax
	}
	return nil
}

// isTopLabel reports whether s is an RFC 7208 toplabel: alphanumerics
// with at least one letter, or with inner hyphens.
func isTopLabel(s string) bool {
	if s == "" {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(s)-1 {
				return false
			}
			letter = true // "1*alphanum "-" ..." form
		default:
			return false
		}
	}
	return letter
}

// checkMacroString checks *( macro-expand / macro-literal ).
func checkMacroString(s string, inExp bool) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c < 0x21 || c > 0x7e {
				return errSPFSyntax
			}
			continue
		}
		if i+1 >= len(s) {
			return errSPFSyntax
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
		default:
			return errSPFSyntax
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return errSPFSyntax
		}
		body := s[i+2 : i+end]
		if body == "" {
			return errSPFSyntax
		}
		switch body[0] | 0x20 {
		case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
		case 'c', 'r', 't':
			if !inExp {
				return errSPFSyntax
			}
		default:
			return errSPFSyntax
		}
		j := 1
		for j < len(body) && body[j] >= '0' && body[j] <= '9' {
			j++
		}
		if j > 1 {
			if n, err := strconv.Atoi(body[1:j]); err != nil || n == 0 || n > 128 {
				return errSPFSyntax
			}
		}
		if j < len(body) && (body[j] == 'r' || body[j] == 'R') {
			j++
		}
		for ; j < len(body); j++ {
			if !strings.ContainsRune(".-+,/_=", rune(body[j])) {
				return errSPFSyntax
			}
		}
		i += end
	}
	return nil
}

// asciiLower lower-cases ASCII letters only, keeping the length (and
// invalid UTF-8) as it is.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
