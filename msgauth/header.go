package msgauth

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/mail"
	"strings"
)

// ErrHeaderTooLarge is returned when a message header exceeds
// Limits.MaxHeaderBytes or Limits.MaxHeaderFields.
var ErrHeaderTooLarge = errors.New("msgauth: message header too large")

// field is one header field as it appears in the message: Raw holds the
// name, the colon, the value with its folding and the final line break.
type field struct {
	Name string // as written, without the colon
	Raw  string
}

// value returns the field's unfolded value without leading/trailing space.
func (f field) value() string {
	_, v, _ := strings.Cut(f.Raw, ":")
	v = strings.ReplaceAll(v, "\r\n", "")
	v = strings.ReplaceAll(v, "\n", "")
	return strings.TrimSpace(v)
}

// readHeader reads the header section of a message from br, up to and
// including the empty line that ends it (or the end of input), within
// maxBytes and maxFields. It returns the raw bytes read and the fields.
// Lines end in CRLF or a bare LF; a bare CR is kept inside the line.
func readHeader(br *bufio.Reader, maxBytes, maxFields int) ([]byte, []field, error) {
	var raw bytes.Buffer
	raw.Grow(2048)
	fields, err := scanHeader(br, maxBytes, maxFields, &raw, true)
	if err != nil {
		return nil, nil, err
	}
	return raw.Bytes(), fields, nil
}

// readFields is readHeader without the raw bytes.
func readFields(br *bufio.Reader, maxBytes, maxFields int) ([]field, error) {
	return scanHeader(br, maxBytes, maxFields, nil, true)
}

// scanHeader reads the header, appending its bytes to raw (when not
// nil) and returning its fields (when wantFields).
func scanHeader(br *bufio.Reader, maxBytes, maxFields int, raw *bytes.Buffer, wantFields bool) ([]field, error) {
	var fields []field
	var cur []byte // the field being read, continuation lines included
	if wantFields {
		fields = make([]field, 0, 16)
		cur = make([]byte, 0, 1024)
	}
	flush := func() {
		if len(cur) == 0 {
			return
		}
		f := string(cur)
		name, _, _ := strings.Cut(f, ":")
		fields = append(fields, field{Name: strings.TrimSpace(name), Raw: f}) // as go-msgauth: \f, \v too
		cur = cur[:0]
	}
	n, nfields := 0, 0
	for {
		line, err := readLineLimited(br, maxBytes-n)
		n += len(line)
		if raw != nil {
			raw.Write(line)
		}
		if err == errLineTooLong {
			return nil, ErrHeaderTooLarge
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 || isBlank(line) {
			flush()
			return fields, nil
		}
		if (line[0] == ' ' || line[0] == '\t') && nfields > 0 {
			if wantFields {
				cur = append(cur, line...)
			}
		} else {
			if nfields >= maxFields {
				return nil, ErrHeaderTooLarge
			}
			nfields++
			if wantFields {
				flush()
				cur = append(cur, line...)
			}
		}
		if err == io.EOF {
			flush()
			return fields, nil
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLineLimited reads one line with its terminator, failing when it is
// longer than max bytes. A line that fits the reader's buffer is
// returned without a copy: it is valid until the next read.
func readLineLimited(br *bufio.Reader, max int) ([]byte, error) {
	chunk, err := br.ReadSlice('\n')
	if len(chunk) > max {
		return nil, errLineTooLong
	}
	if err != bufio.ErrBufferFull {
		return chunk, err
	}
	out := append([]byte(nil), chunk...)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out)+len(chunk) > max {
			return nil, errLineTooLong
		}
		out = append(out, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return out, err
	}
}

func isBlank(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' || len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// fromDomains returns the domains of the addresses in the message's
// From fields (RFC 5322 author). ok is false when there is not exactly
// one From field or it does not parse, which DMARC treats as a failure
// to determine the author domain (RFC 7489 section 6.6.1).
func fromDomains(fields []field) (domains []string, ok bool) {
	var from []field
	for _, f := range fields {
		if strings.EqualFold(f.Name, "From") {
			from = append(from, f)
		}
	}
	if len(from) != 1 {
		return nil, false
	}
	v := from[0].value()
	if d := simpleFromDomain(v); d != "" {
		return []string{d}, true
	}
	return parseFromDomains(v)
}

// parseFromDomains returns the domains of a From value by net/mail's
// parse, falling back to a bare angle address the strict parser refuses.
func parseFromDomains(v string) (domains []string, ok bool) {
	addrs, err := mail.ParseAddressList(v)
	if err != nil || len(addrs) == 0 {
		if i := strings.LastIndexByte(v, '<'); i >= 0 {
			if j := strings.IndexByte(v[i:], '>'); j > 0 {
				v = v[i+1 : i+j]
			}
		}
		if d := addrDomain(v); d != "" {
			return []string{d}, true
		}
		return nil, false
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		d := addrDomain(a.Address)
		if d == "" {
			return nil, false
		}
		if !seen[d] {
			seen[d] = true
			domains = append(domains, d)
		}
	}
	return domains, true
}

// addrDomain returns the lower-cased domain of local@domain, or "".
func addrDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || i == len(addr)-1 {
		return ""
	}
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(addr[i+1:]), "."))
	if strings.ContainsAny(d, " \t<>()[],;:\"\\") {
		return ""
	}
	return d
}

// simpleFromDomain returns the domain of a From value of the common
// shapes "local@domain" and "Display Name <local@domain>" (no quotes,
// comments, groups, lists or escapes; one @), for which net/mail's
// parse gives the same domain at a tenth of the cost; "" for any other
// value, which goes to the full parse.
func simpleFromDomain(v string) string {
	if strings.ContainsAny(v, "\"(),;:\\[]") {
		return ""
	}
	addr := v
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v, '>')
		if j != len(v)-1 || j < i || strings.Count(v, "<") != 1 || strings.Count(v, ">") != 1 {
			return ""
		}
		for k := 0; k < i; k++ { // a display name of plain ASCII atoms
			if c := v[k]; c >= 0x7f || c < ' ' && c != '\t' {
				return ""
			}
		}
		addr = v[i+1 : j]
	}
	if strings.Count(addr, "@") != 1 || addr[0] == '@' {
		return ""
	}
	for k := 0; k < len(addr); k++ {
		if c := addr[k]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return ""
		}
	}
	local, dom, _ := strings.Cut(addr, "@")
	if local == "" || dom == "" || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") ||
		strings.HasPrefix(dom, ".") || strings.Contains(dom, "..") {
		return ""
	}
	return addrDomain(addr)
}
