package imapmsg

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// wordDecoder decodes RFC 2047 encoded words in any charset go-message
// knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeHeaderValue returns v with encoded words decoded; undecodable
// words stay as they are.
func decodeHeaderValue(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// fold is the form SEARCH compares in: i;unicode-casemap (RFC 5051),
// the comparator of I18NLEVEL=1 (RFC 5255 4.1), as Dovecot folds both
// the needle and the text.
func fold(s string) string { return CaseMap(s) }

// foldBytes is fold for a chunk of a body.
func foldBytes(b []byte) []byte { return []byte(CaseMap(string(b))) }

func matchHeader(h Header, field, substr string) bool {
	needle := fold(substr)
	for _, f := range h {
		if !equalFoldASCII(f.Name, field) {
			continue
		}
		v := f.Value
		if isAddressField(f.Name) {
			v = renderAddresses(v)
		} else {
			v = decodeHeaderValue(v)
		}
		if needle == "" || strings.Contains(fold(v), needle) {
			return true
		}
	}
	return false
}

func isAddressField(name string) bool {
	for _, n := range []string{"From", "To", "Cc", "Bcc", "Sender", "Reply-To", "Resent-From", "Resent-To", "Resent-Cc", "Resent-Bcc", "Resent-Sender"} {
		if equalFoldASCII(name, n) {
			return true
		}
	}
	return false
}

// renderAddresses writes an address list in its normalised form
// ("Name <box@host>, group: a@b;"), as Dovecot matches address fields:
// quotes and comments are gone, display names decoded.
func renderAddresses(v string) string {
	var b strings.Builder
	for i, a := range ParseAddressList(v) {
		if i > 0 && !a.GroupEnd {
			b.WriteString(", ")
		}
		switch {
		case a.GroupStart:
			b.WriteString(decodeHeaderValue(a.Mailbox) + ":")
		case a.GroupEnd:
			b.WriteString(";")
		default:
			addr := a.Mailbox
			if a.Host != missingDomain {
				addr += "@" + a.Host
			}
			if a.ADL != "" {
				addr = a.ADL + ":" + addr
			}
			switch {
			case a.Name != "":
				b.WriteString(decodeHeaderValue(a.Name) + " <" + addr + ">")
			case a.ADL != "":
				b.WriteString("<" + addr + ">")
			default:
				b.WriteString(addr)
			}
		}
	}
	return b.String()
}

// matchAllHeaders matches substr against every header block of the
// message: the top-level header, each part's MIME header and the header
// of every attached message, as Dovecot's TEXT does.
func (m *Message) matchAllHeaders(r io.ReaderAt, substr string) (bool, error) {
	if matchAnyHeader(m.Root.Header, substr) {
		return true, nil
	}
	var parts []*Part
	collectAll(m.Root, &parts, 0)
	for _, p := range parts {
		h := p.Header
		if h == nil && p.HeaderSize > 0 {
			n := p.HeaderSize
			if n > maxFilterBytes {
				n = maxFilterBytes
			}
			rd, err := m.region(r, p.HeaderOffset, n)
			if err != nil {
				return false, err
			}
			raw, err := io.ReadAll(rd)
			if err != nil {
				return false, err
			}
			h = parseHeader(raw, DefaultMaxHeaderFields)
		}
		if matchAnyHeader(h, substr) {
			return true, nil
		}
	}
	return false, nil
}

// collectAll lists every part below p (p excluded), inner messages
// included.
func collectAll(p *Part, out *[]*Part, depth int) {
	if depth > 200 {
		return
	}
	if p.Message != nil {
		*out = append(*out, p.Message)
		collectAll(p.Message, out, depth+1)
	}
	for _, c := range p.Children {
		*out = append(*out, c)
		collectAll(c, out, depth+1)
	}
}

// matchAnyHeader matches substr against every "Name: value" of h.
func matchAnyHeader(h Header, substr string) bool {
	needle := fold(substr)
	for _, f := range h {
		if strings.Contains(fold(f.Name+": "+decodeHeaderValue(f.Value)), needle) {
			return true
		}
	}
	return false
}

// matchBody searches the text parts (text/* leaves, at any depth and
// inside attached messages) after transfer and charset decoding, as
// Dovecot searches bodies without full-text indexes.
func (m *Message) matchBody(r io.ReaderAt, substr string) (bool, error) {
	needle := []byte(fold(substr))
	var leaves []*Part
	collectText(m.Root, &leaves, 0)
	if len(needle) == 0 {
		return true, nil
	}
	for _, p := range leaves {
		ok, err := m.matchLeaf(r, p, needle)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

func collectText(p *Part, out *[]*Part, depth int) {
	if depth > 200 {
		return
	}
	switch {
	case p.Message != nil:
		collectText(p.Message, out, depth+1)
	case p.IsMultipart():
		for _, c := range p.Children {
			collectText(c, out, depth+1)
		}
	case equalFoldASCII(p.Type, "text"):
		*out = append(*out, p)
	}
}

func (m *Message) matchLeaf(r io.ReaderAt, p *Part, needle []byte) (bool, error) {
	rd, err := m.region(r, p.BodyOffset, p.BodySize)
	if err != nil {
		return false, err
	}
	dec, ok := decoderFor(p.Encoding, rd)
	if !ok {
		dec = rd // unknown encoding: search the raw text
	}
	if cs, ok := p.Param("charset"); ok && !isUTF8Compatible(cs) {
		if cr, err := charset.Reader(cs, dec); err == nil {
			dec = cr
		}
	}
	return streamContains(dec, needle)
}

func isUTF8Compatible(cs string) bool {
	switch strings.ToLower(cs) {
	case "us-ascii", "utf-8", "utf8", "ascii", "":
		return true
	}
	return false
}

// streamContains reports whether the case-folded text of r contains
// needle (already folded). Chunks are cut at rune boundaries and
// overlap by len(needle)-1 bytes.
func streamContains(r io.Reader, needle []byte) (bool, error) {
	buf := make([]byte, 32<<10)
	var pending []byte // incomplete rune carried over
	var tail []byte    // folded bytes kept for matches across chunks
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := append(pending, buf[:n]...)
			cut := runeCut(chunk)
			if err != nil {
				cut = len(chunk)
			}
			pending = append(pending[:0:0], chunk[cut:]...)
			hay := append(tail, foldBytes(chunk[:cut])...)
			if bytes.Contains(hay, needle) {
				return true, nil
			}
			if keep := len(needle) - 1; len(hay) > keep {
				tail = append(tail[:0:0], hay[len(hay)-keep:]...)
			} else {
				tail = hay
			}
		}
		if err == io.EOF {
			if len(pending) > 0 {
				return bytes.Contains(append(tail, foldBytes(pending)...), needle), nil
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// runeCut returns the length of b without an incomplete UTF-8 sequence at
// its end.
func runeCut(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}

// parseDate parses a Date: value, accepting what net/mail accepts and
// a few common deviations (comments, missing seconds or day name).
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// Drop comments and collapse spaces, then try a few layouts.
	s := newScanner(v)
	var words []string
	for !s.done() {
		switch c := s.peek(); {
		case c == '(':
			s.comment()
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.i++
		default:
			st := s.i
			for !s.done() && s.peek() != ' ' && s.peek() != '\t' && s.peek() != '(' {
				s.i++
			}
			words = append(words, s.s[st:s.i])
		}
	}
	clean := strings.Join(words, " ")
	for _, layout := range []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"2 Jan 2006 15:04 -0700",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04:05",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		time.RFC3339,
	} {
		if t, err := time.Parse(layout, clean); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
