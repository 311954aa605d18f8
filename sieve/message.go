package sieve

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"sync"

	"github.com/emersion/go-message/charset"
)

// Header is one header field as it appears in the message: its name as
// written and its raw (folded, undecoded) value.
type Header struct {
	Name  string
	Value string
}

// Message is the message a script runs against. It is read-only; runs
// never change it (editheader edits a copy held by the run).
type Message struct {
	headers []Header
	body    []byte // after the blank line
	size    int64
	raw     []byte

	once  sync.Once
	parts []bodyPart
}

// ParseMessage wraps a whole message (header and body, CRLF or LF line
// ends). The slice is kept, not copied.
func ParseMessage(raw []byte) *Message {
	m := &Message{raw: raw, size: int64(len(raw))}
	m.headers, m.body = splitHeader(raw)
	return m
}

// ReadMessage reads a message of at most max bytes (0: no limit) and
// wraps it.
func ReadMessage(r io.Reader, max int64) (*Message, error) {
	if max > 0 {
		r = io.LimitReader(r, max)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseMessage(b), nil
}

// Size is the message size in octets, as the size test sees it.
func (m *Message) Size() int64 { return m.size }

// Raw returns the message as given.
func (m *Message) Raw() []byte { return m.raw }

// Headers returns the header fields in order.
func (m *Message) Headers() []Header { return m.headers }

// splitHeader parses the header section into fields, unfolding
// nothing, and returns the body after the blank line.
func splitHeader(raw []byte) ([]Header, []byte) {
	var hs []Header
	rest := raw
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i], rest[i+1:]
		}
		line = trimCR(line)
		if len(line) == 0 {
			return hs, rest
		}
		if (line[0] == ' ' || line[0] == '\t') && len(hs) > 0 {
			hs[len(hs)-1].Value += "\r\n" + string(line)
			continue
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			// Not a header field: the header ends here (Dovecot treats
			// such a line as the start of the body).
			continue
		}
		name := string(bytes.TrimRight(line[:c], " \t"))
		hs = append(hs, Header{Name: name, Value: string(line[c+1:])})
	}
	return hs, nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// unfold removes folding line breaks and trims the value.
func unfold(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(v)
	}
	return strings.Trim(v, " \t")
}

// decodeHeader unfolds a value and decodes RFC 2047 encoded words.
func decodeHeader(v string) string {
	v = unfold(v)
	if !strings.Contains(v, "=?") {
		return v
	}
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// headerValues returns the raw values of the named fields in order.
func headerValues(hs []Header, name string) []string {
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}
