package msgauth

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/emersion/go-msgauth/authres"
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
	var res []authres.Result
	if len(r.DKIM) == 0 {
		res = append(res, &authres.GenericResult{Method: "dkim", Value: authres.ResultNone})
	}
	for _, d := range r.DKIM {
		res = append(res, &authres.GenericResult{Method: "dkim", Value: authres.ResultValue(d.Result), Params: map[string]string{
			"header.d": d.Domain, "header.s": d.Selector, "header.b": d.HeaderB, "reason": reasonParam(d.Reason),
		}})
	}
	if r.SPF.Result != "" {
		p := map[string]string{"reason": reasonParam(r.SPF.Reason)}
		if r.SPF.Identity == "helo" {
			p["smtp.helo"] = r.SPF.Domain
		} else {
			p["smtp.mailfrom"] = r.SPF.Sender
		}
		res = append(res, &authres.GenericResult{Method: "spf", Value: authres.ResultValue(r.SPF.Result), Params: p})
	}
	if r.ARC.Result != "" {
		p := map[string]string{"reason": reasonParam(r.ARC.Reason)}
		if r.ARC.Result == ResultPass {
			p["header.oldest-pass"] = strconv.Itoa(r.ARC.OldestPass)
			p["reason"] = ""
		}
		res = append(res, &authres.GenericResult{Method: "arc", Value: authres.ResultValue(r.ARC.Result), Params: p})
	}
	if r.DMARC.Result != "" {
		p := map[string]string{"header.from": r.DMARC.From, "reason": reasonParam(r.DMARC.Reason)}
		if r.DMARC.Policy != "" {
			p["policy.dmarc"] = r.DMARC.Policy
		}
		res = append(res, &authres.GenericResult{Method: "dmarc", Value: authres.ResultValue(r.DMARC.Result), Params: p})
	}
	v := authres.Format(authservID, res)
	// Fold before each method so lines stay short.
	v = strings.ReplaceAll(v, "; ", ";\r\n\t")
	return strings.TrimRight(v, " ")
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
	if !bytes.Contains(bytes.ToLower(header), []byte("authentication-results")) {
		return header, 0
	}
	var out bytes.Buffer
	removed := 0
	for len(header) > 0 {
		n := fieldLen(header)
		f := header[:n]
		name, value, ok := bytes.Cut(f, []byte(":"))
		if ok && strings.EqualFold(strings.TrimRight(string(name), " \t"), "Authentication-Results") &&
			strings.EqualFold(AuthservID(unfold(string(value))), authservID) {
			removed++
		} else {
			out.Write(f)
		}
		header = header[n:]
	}
	return out.Bytes(), removed
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
