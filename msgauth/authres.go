package msgauth

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
)

// Results are the authentication results for one message.
type Results struct {
	SPF   SPFResult
	DKIM  []DKIMResult
	ARC   ARCResult
	DMARC DMARCResult
}

// Header returns the Authentication-Results header field (RFC 8601)
// stating these results under authservID, ending in CRLF, folded one
// method per line.
func (r *Results) Header(authservID string) string {
	return "Authentication-Results: " + r.Value(authservID) + "\r\n"
}

// Value is the Authentication-Results value of [Results.Header]: the
// authserv-id and the results, folded, without the field name or the
// final line break. An ARC set's ARC-Authentication-Results carries it.
func (r *Results) Value(authservID string) string {
	// The text of go-msgauth's authres.Format (TestAuthResultsValueMatchesAuthres),
	// without its maps, sorting and interface values: params in key order,
	// reason first, empty ones left out.
	b := make([]byte, 0, 512)
	b = append(b, authservID...)
	if len(r.DKIM) == 0 {
		b = appendARResult(b, "dkim", ResultNone, "")
	}
	for _, d := range r.DKIM {
		b = appendARResult(b, "dkim", d.Result, reasonParam(d.Reason), "header.b", d.HeaderB, "header.d", d.Domain, "header.s", d.Selector)
	}
	if r.SPF.Result != "" {
		k, v := "smtp.mailfrom", r.SPF.Sender
		if r.SPF.Identity == "helo" {
			k, v = "smtp.helo", r.SPF.Domain
		}
		b = appendARResult(b, "spf", r.SPF.Result, reasonParam(r.SPF.Reason), k, v)
	}
	if r.ARC.Result != "" {
		if r.ARC.Result == ResultPass {
			b = appendARResult(b, "arc", r.ARC.Result, "", "header.oldest-pass", strconv.Itoa(r.ARC.OldestPass))
		} else {
			b = appendARResult(b, "arc", r.ARC.Result, reasonParam(r.ARC.Reason))
		}
	}
	if r.DMARC.Result != "" {
		b = appendARResult(b, "dmarc", r.DMARC.Result, reasonParam(r.DMARC.Reason), "header.from", r.DMARC.From, "policy.dmarc", r.DMARC.Policy)
	}
	v := string(b)
	// Fold before each method so lines stay short.
	v = strings.ReplaceAll(v, "; ", ";\r\n\t")
	return strings.TrimRight(v, " ")
}

// appendARResult appends "; method=value " and the params (key, value
// pairs in key order), reason first, as authres.Format writes them.
func appendARResult(b []byte, method, value, reason string, kv ...string) []byte {
	b = append(b, "; "...)
	b = append(b, method...)
	b = append(b, '=')
	b = append(b, value...)
	b = append(b, ' ')
	n := 0
	if reason != "" {
		b = append(b, "reason="...)
		b = appendARValue(b, reason)
		n++
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if n > 0 {
			b = append(b, ' ')
		}
		b = append(b, kv[i]...)
		b = append(b, '=')
		b = appendARPvalue(b, kv[i+1])
		n++
	}
	return b
}

// appendARValue is authres's formatValue: quoted when it holds a space,
// a control or a tspecial.
func appendARValue(b []byte, s string) []byte {
	quote := false
	for _, ch := range s {
		if ch <= ' ' || strings.ContainsRune(`()<>@,;:\"/[]?=`, ch) {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `\"`)...)
	return append(b, '"')
}

// appendARPvalue is authres's formatPvalue: as it is when it looks like
// an address or a domain, else as appendARValue.
func appendARPvalue(b []byte, s string) []byte {
	for _, ch := range s {
		if !unicode.IsLetter(ch) && !unicode.IsDigit(ch) && !strings.ContainsRune("#$%&'*+,./-@[]\\^_`{|}~", ch) {
			return appendARValue(b, s)
		}
	}
	return append(b, s...)
}

// reasonParam keeps a reason short and free of characters that would
// need quoting beyond what authres does.
func reasonParam(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// AuthservID returns the authserv-id of an Authentication-Results field
// value (RFC 8601 section 2.2): the first token after any comments, or
// "" when there is none.
func AuthservID(value string) string {
	v := stripComments(value)
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, "; \t\r\n"); i >= 0 {
		v = v[:i]
	}
	return strings.Trim(v, `"`)
}

// stripComments removes RFC 5322 comments (nested, with quoted-pairs),
// at most 64 levels deep; text in quoted strings is kept.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (depth > 0 || quoted):
			if depth == 0 {
				b.WriteByte(c)
				if i+1 < len(s) {
					b.WriteByte(s[i+1])
				}
			}
			i++
		case quoted:
			b.WriteByte(c)
			if c == '"' {
				quoted = false
			}
		case c == '(':
			if depth < 64 {
				depth++
			}
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '"':
			quoted = true
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// StripAuthResults returns the header section without the
// Authentication-Results fields that claim authservID (RFC 8601 section
// 5: a receiver removes fields that use its own authserv-id, which only
// it may add), and how many it removed. Other fields are kept byte for
// byte.
func StripAuthResults(header []byte, authservID string) ([]byte, int) {
	const name = "Authentication-Results"
	var out []byte // made at the first field removed
	removed := 0
	for rest := header; len(rest) > 0; {
		n := fieldLen(rest)
		f := rest[:n]
		rest = rest[n:]
		if len(f) > len(name) && strings.EqualFold(string(f[:len(name)]), name) {
			fname, value, ok := bytes.Cut(f, []byte(":"))
			if ok && strings.EqualFold(strings.TrimRight(string(fname), " \t"), name) &&
				strings.EqualFold(AuthservID(unfold(string(value))), authservID) {
				if out == nil {
					out = append(make([]byte, 0, len(header)), header[:len(header)-len(rest)-n]...)
				}
				removed++
				continue
			}
		}
		if out != nil {
			out = append(out, f...)
		}
	}
	if out == nil {
		return header, 0
	}
	return out, removed
}

// fieldLen is the length of the first header field in h with its
// continuation lines (or of the blank line that ends the header).
func fieldLen(h []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(h[i:], '\n')
		if j < 0 {
			return len(h)
		}
		i += j + 1
		if i == len(h) || h[i] != ' ' && h[i] != '\t' || isBlank(h[:i]) {
			return i
		}
	}
}

func unfold(s string) string {
	return strings.NewReplacer("\r\n", "", "\n", "").Replace(s)
}
