package queue

// 8BITMIME to 7bit conversion, as Postfix 3.7's smtp(8) does it with
// disable_mime_output_conversion = no when the server does not announce
// 8BITMIME (RFC 6152) and the message is not known to be 7bit: the
// content goes through a MIME parser (Postfix's mime_state) that
//
//   - leaves header fields as they are (8-bit text in headers too), but
//     for the space between a field name and its colon, which it drops
//     ("Subject : x" becomes "Subject: x");
//   - drops a Content-Transfer-Encoding field of the 8bit or binary
//     domain and writes, at the end of that header block,
//     "Content-Transfer-Encoding: quoted-printable" for a leaf part and
//     "Content-Transfer-Encoding: 7bit" for multipart/* and message/*;
//   - encodes the body of such a leaf part as quoted-printable (RFC 2045
//     6.7): control characters but TAB, "=" and octets above 126 as =XX,
//     a soft line break once a line has more than 72 characters, a space
//     or TAB at the end of a line as =20 or =09;
//   - follows multipart boundaries (at most mime_nesting_limit, 100,
//     deep; boundaries cut at mime_boundary_length_limit, 2048) and the
//     headers of message/rfc822 parts, leaving parts of other encodings,
//     and 8-bit text without an 8bit Content-Transfer-Encoding, alone;
//   - writes every line within smtp_line_length_limit (998): a longer
//     line is broken by inserting CRLF and a space.
//
// A header field is kept to header_size_limit (102400) bytes, rounded
// up to the end of a record; the rest is dropped, as Postfix's parser
// drops it. Lines are taken in records
// of at most line_length_limit (2048) bytes, as Postfix's queue file
// holds them, so that boundaries are recognised where Postfix
// recognises them.

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// Limits of the MIME downgrade, Postfix's defaults.
const (
	downgradeRecordLimit   = 2048   // line_length_limit
	downgradeHeaderLimit   = 102400 // header_size_limit
	downgradeNestingLimit  = 100    // mime_nesting_limit
	downgradeBoundaryLimit = 2048   // mime_boundary_length_limit
	// DefaultSMTPLineLengthLimit is smtp_line_length_limit: the longest
	// line sent in converted content, without its CRLF.
	DefaultSMTPLineLengthLimit = 998
)

// MIME parser states and types, as mime_state's.
const (
	mdPrimary = iota
	mdMultipart
	mdNested
	mdBody
)

const (
	mdCtypeOther = iota
	mdCtypeText
	mdCtypeMessage
	mdCtypeMultipart
)

const (
	mdStypeOther = iota
	mdStypePlain
	mdStypeRFC822
	mdStypePartial
	mdStypeExternal
)

const (
	mdEnc7bit = iota
	mdEnc8bit
	mdEncBinary
	mdEncQP
	mdEncBase64
)

type mdBoundary struct {
	bound        string
	ctype, stype int // the parts' default content type
}

// mimeDowngrader converts one message.
type mimeDowngrader struct {
	out       *bufio.Writer
	lineLimit int
	spaceLeft int

	state, ctype, stype, enc, domain int
	stack                            []mdBoundary
	hdr                              []byte // the header field being collected
	inHdr                            bool
	prevCont                         bool
	qp                               []byte
}

// downgradeMIME copies the message from src to dst converted to 7bit as
// Postfix does (see above), with CRLF line ends. lineLimit is
// smtp_line_length_limit (0 for none).
func downgradeMIME(dst io.Writer, src io.Reader, lineLimit int) error {
	m := &mimeDowngrader{out: bufio.NewWriterSize(dst, 32*1024), lineLimit: lineLimit, spaceLeft: lineLimit,
		state: mdPrimary, ctype: mdCtypeText, stype: mdStypePlain}
	br := bufio.NewReaderSize(src, 32*1024)
	rec := make([]byte, 0, downgradeRecordLimit)
	for {
		var cont bool
		var err error
		rec, cont, err = mdReadRecord(br, rec[:0])
		if err != nil {
			if err != io.EOF {
				return err
			}
			break
		}
		m.update(rec, cont, true)
		if m.outErr() != nil {
			return m.outErr()
		}
	}
	m.update(nil, false, false)
	return m.out.Flush()
}

func (m *mimeDowngrader) outErr() error {
	// bufio.Writer keeps its first error; a zero-length write reports it.
	_, err := m.out.Write(nil)
	return err
}

// mdReadRecord reads a line of at most downgradeRecordLimit bytes,
// without its LF or CRLF; cont is set when the line goes on in the next
// record. A last line without LF is a line.
func mdReadRecord(br *bufio.Reader, buf []byte) (rec []byte, cont bool, err error) {
	for len(buf) < downgradeRecordLimit {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if len(buf) > 0 && err == io.EOF {
					return buf, false, nil
				}
				return buf, false, err
			}
		}
		p, _ := br.Peek(min(br.Buffered(), downgradeRecordLimit-len(buf)))
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			buf = append(buf, p[:i]...)
			br.Discard(i + 1)
			if n := len(buf); n > 0 && buf[n-1] == '\r' {
				buf = buf[:n-1]
			}
			return buf, false, nil
		}
		buf = append(buf, p...)
		br.Discard(len(p))
	}
	// Full: the line ends here when LF or CRLF follows.
	if p, _ := br.Peek(1); len(p) == 1 && p[0] == '\n' {
		br.Discard(1)
		if n := len(buf); buf[n-1] == '\r' {
			buf = buf[:n-1]
		}
		return buf, false, nil
	}
	if p, _ := br.Peek(2); len(p) == 2 && p[0] == '\r' && p[1] == '\n' {
		br.Discard(2)
		return buf, false, nil
	}
	return buf, true, nil
}

// textOut writes one record within the line length limit, as Postfix's
// smtp_text_out: a line longer than the limit is broken with CRLF and a
// space.
func (m *mimeDowngrader) textOut(data []byte, cont bool) {
	for {
		if m.lineLimit > 0 && len(data) >= m.spaceLeft {
			m.out.Write(data[:m.spaceLeft])
			m.out.WriteString("\r\n")
			data = data[m.spaceLeft:]
			m.spaceLeft = m.lineLimit
			if len(data) > 0 || cont {
				m.out.WriteByte(' ')
				m.spaceLeft--
			}
			if len(data) == 0 {
				return
			}
			continue
		}
		m.out.Write(data)
		if cont {
			m.spaceLeft -= len(data)
		} else {
			m.out.WriteString("\r\n")
			m.spaceLeft = m.lineLimit
		}
		return
	}
}

// headerOut writes a collected header field, line by line.
func (m *mimeDowngrader) headerOut(h []byte) {
	for {
		i := bytes.IndexByte(h, '\n')
		if i < 0 {
			m.textOut(h, false)
			return
		}
		m.textOut(h[:i], false)
		h = h[i+1:]
	}
}

func (m *mimeDowngrader) converting() bool { return m.domain != mdEnc7bit }

func (m *mimeDowngrader) set(state, ctype, stype, enc, domain int) {
	m.state, m.ctype, m.stype, m.enc, m.domain = state, ctype, stype, enc, domain
}

// update takes one record (text is false at the end of the message).
func (m *mimeDowngrader) update(rec []byte, cont, text bool) {
	if !text && m.prevCont {
		m.update(nil, false, true)
	}
	if m.state != mdBody {
		if m.inHdr {
			if text {
				if m.prevCont {
					m.appendHdr(rec)
					m.prevCont = cont
					return
				}
				if len(rec) > 0 && (rec[0] == ' ' || rec[0] == '\t') {
					if len(m.hdr) < downgradeHeaderLimit {
						m.hdr = append(m.hdr, '\n')
						m.appendHdr(rec)
					}
					m.prevCont = cont
					return
				}
			}
			m.finishHeader()
		}
		if text {
			if n := mdHeaderName(rec); n > 0 {
				rest := rec[n:]
				for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
					rest = rest[1:]
				}
				m.hdr = append(m.hdr[:0], rec[:n]...)
				m.appendHdr(rest)
				m.inHdr = true
				m.prevCont = cont
				return
			}
		}
		// The end of a header block.
		if m.converting() {
			cte := "quoted-printable"
			if m.ctype == mdCtypeMessage || m.ctype == mdCtypeMultipart {
				cte = "7bit"
			}
			m.textOut([]byte("Content-Transfer-Encoding: "+cte), false)
		}
		if !text {
			m.state = mdBody
		} else if len(rec) == 0 {
			switch {
			case m.ctype == mdCtypeMessage && m.stype == mdStypeRFC822:
				m.set(mdNested, mdCtypeText, mdStypePlain, mdEnc7bit, mdEnc7bit)
			case m.ctype == mdCtypeMultipart:
				m.set(mdBody, mdCtypeOther, mdStypeOther, mdEnc7bit, mdEnc7bit)
			default:
				m.state = mdBody
			}
		} else {
			// Not a header: a blank line is put between the primary
			// headers and the body; elsewhere the body starts.
			if m.state == mdPrimary {
				m.textOut(nil, false)
			}
			m.state = mdBody
		}
	}
	if !text {
		return
	}
	m.body(rec, cont)
	m.prevCont = cont
}

// body handles a body record: boundaries, then output.
func (m *mimeDowngrader) body(rec []byte, cont bool) {
	if len(m.stack) > 0 && !m.prevCont && len(rec) > 2 && rec[0] == '-' && rec[1] == '-' {
		for k := len(m.stack) - 1; k >= 0; k-- {
			b := m.stack[k]
			if len(rec) >= 2+len(b.bound) && string(rec[2:2+len(b.bound)]) == b.bound {
				m.stack = m.stack[:k+1]
				if len(rec) >= 4+len(b.bound) && rec[2+len(b.bound)] == '-' && rec[3+len(b.bound)] == '-' {
					m.stack = m.stack[:k]
					m.set(mdBody, mdCtypeOther, mdStypeOther, mdEnc7bit, mdEnc7bit)
				} else {
					m.set(mdMultipart, b.ctype, b.stype, mdEnc7bit, mdEnc7bit)
				}
				break
			}
		}
	}
	if m.converting() {
		m.quote(rec, cont)
	} else {
		m.textOut(rec, cont)
	}
}

// quote writes rec as quoted-printable, as Postfix's
// mime_state_downgrade.
func (m *mimeDowngrader) quote(rec []byte, cont bool) {
	const hex = "0123456789ABCDEF"
	for _, c := range rec {
		if len(m.qp) > 72 {
			m.qp = append(m.qp, '=')
			m.textOut(m.qp, false)
			m.qp = m.qp[:0]
		}
		if c < 32 && c != '\t' || c == '=' || c > 126 {
			m.qp = append(m.qp, '=', hex[c>>4], hex[c&15])
		} else {
			m.qp = append(m.qp, c)
		}
	}
	if cont {
		return
	}
	if n := len(m.qp); n > 0 && (m.qp[n-1] == ' ' || m.qp[n-1] == '\t') {
		c := m.qp[n-1]
		m.qp = append(m.qp[:n-1], '=', hex[c>>4], hex[c&15])
	}
	m.textOut(m.qp, false)
	m.qp = m.qp[:0]
}

// appendHdr adds a record to the header field while it is shorter than
// header_size_limit, as Postfix does (so it may end up one record longer).
func (m *mimeDowngrader) appendHdr(b []byte) {
	if len(m.hdr) < downgradeHeaderLimit {
		m.hdr = append(m.hdr, b...)
	}
}

// finishHeader looks at the collected header field and writes it, but
// for a Content-Transfer-Encoding of the 8bit or binary domain.
func (m *mimeDowngrader) finishHeader() {
	h := m.hdr
	m.inHdr, m.prevCont = false, false
	n := mdHeaderName(h)
	name, value := string(h[:n]), ""
	if n > 0 {
		value = string(h[n+1:]) // after the colon (spaces were dropped)
	}
	isCTE := false
	switch {
	case strings.EqualFold(name, "Content-Type"):
		m.contentType(value)
	case strings.EqualFold(name, "Content-Transfer-Encoding"):
		isCTE = true
		m.contentEncoding(value)
	}
	if !isCTE || !m.converting() {
		m.headerOut(h)
	}
	m.hdr = m.hdr[:0]
}

// mdHeaderName returns the length of the field name when line starts a
// header field ("name:" or "name :"), else 0.
func mdHeaderName(line []byte) int {
	n := 0
	for n < len(line) && line[n] > ' ' && line[n] < 0x7f && line[n] != ':' {
		n++
	}
	if n == 0 {
		return 0
	}
	i := n
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && line[i] == ':' {
		return n
	}
	return 0
}

// contentType takes a Content-Type value as Postfix's
// mime_state_content_type does.
func (m *mimeDowngrader) contentType(v string) {
	toks := mdTokens(v)
	if len(toks) == 0 || toks[0].kind != 't' {
		return
	}
	sub := ""
	if len(toks) >= 3 && toks[1].kind == '/' && toks[2].kind == 't' {
		sub = strings.ToLower(toks[2].val)
	}
	switch strings.ToLower(toks[0].val) {
	case "text":
		m.ctype, m.stype = mdCtypeText, mdStypeOther
		if sub == "plain" {
			m.stype = mdStypePlain
		}
	case "message":
		m.ctype, m.stype = mdCtypeMessage, mdStypeOther
		switch sub {
		case "rfc822":
			m.stype = mdStypeRFC822
		case "partial":
			m.stype = mdStypePartial
		case "external-body":
			m.stype = mdStypeExternal
		}
	case "multipart":
		m.ctype = mdCtypeMultipart
		dc, ds := mdCtypeText, mdStypePlain
		if sub == "digest" {
			dc, ds = mdCtypeMessage, mdStypeRFC822
		}
		// Every boundary parameter counts, as in Postfix.
		for i := 0; i+2 < len(toks); i++ {
			if toks[i].kind == 't' && strings.EqualFold(toks[i].val, "boundary") && toks[i+1].kind == '=' && (toks[i+2].kind == 't' || toks[i+2].kind == '"') {
				if len(m.stack) > downgradeNestingLimit {
					continue
				}
				b := toks[i+2].val
				if len(b) > downgradeBoundaryLimit {
					b = b[:downgradeBoundaryLimit]
				}
				m.stack = append(m.stack, mdBoundary{bound: b, ctype: dc, stype: ds})
			}
		}
	default:
		m.ctype = mdCtypeOther
	}
}

// contentEncoding takes a Content-Transfer-Encoding value.
func (m *mimeDowngrader) contentEncoding(v string) {
	toks := mdTokens(v)
	if len(toks) == 0 || toks[0].kind != 't' {
		return
	}
	switch strings.ToLower(toks[0].val) {
	case "7bit":
		m.enc, m.domain = mdEnc7bit, mdEnc7bit
	case "8bit":
		m.enc, m.domain = mdEnc8bit, mdEnc8bit
	case "binary":
		m.enc, m.domain = mdEncBinary, mdEncBinary
	case "base64":
		m.enc, m.domain = mdEncBase64, mdEnc7bit
	case "quoted-printable":
		m.enc, m.domain = mdEncQP, mdEnc7bit
	}
}

type mdToken struct {
	kind byte // 't' token, '"' quoted string, or the special character
	val  string
}

// mdTokens splits a MIME header value into RFC 2045 tokens, quoted
// strings and specials, skipping comments; at most 1000 of them.
func mdTokens(v string) []mdToken {
	const specials = "()<>@,;:\\\"/[]?="
	var toks []mdToken
	i := 0
	for i < len(v) && len(toks) < 1000 {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			depth := 0
		comment:
			for i < len(v) {
				switch v[i] {
				case '\\':
					i++
				case '(':
					depth++
				case ')':
					depth--
				}
				i++
				if depth == 0 {
					break comment
				}
			}
		case c == '"':
			var b strings.Builder
			i++
			for i < len(v) && v[i] != '"' {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				if v[i] != '\n' && v[i] != '\r' {
					b.WriteByte(v[i])
				}
				i++
			}
			i++
			toks = append(toks, mdToken{kind: '"', val: b.String()})
		case strings.IndexByte(specials, c) >= 0:
			toks = append(toks, mdToken{kind: c})
			i++
		default:
			j := i
			for j < len(v) && v[j] > ' ' && v[j] != 0x7f && strings.IndexByte(specials, v[j]) < 0 {
				j++
			}
			if j == i {
				j++ // a control character
			}
			toks = append(toks, mdToken{kind: 't', val: v[i:j]})
			i = j
		}
	}
	return toks
}
