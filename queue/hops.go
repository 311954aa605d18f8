package queue

import (
	"io"
	"strings"
)

// hopReader counts the Received header fields of a message as it is
// read through (for hopcount_limit), without buffering it: it looks at
// the first bytes of each line until the empty line that ends the
// header.
type hopReader struct {
	r      io.Reader
	hops   int
	bol    bool   // at the beginning of a line
	prefix []byte // the current line's first bytes, up to len("received:")
	done   bool   // past the header
	// The Message-ID field, for cleanup's "message-id=" log line: the
	// current line while it may be one (up to maxMessageIDLine bytes),
	// and the first one's value.
	line      []byte
	messageID string
	inMID     bool // the current field is Message-ID (its continuation lines too)
}

// maxMessageIDLine bounds the bytes kept of a Message-ID field.
const maxMessageIDLine = 998

func newHopReader(r io.Reader) *hopReader {
	return &hopReader{r: r, bol: true, prefix: make([]byte, 0, 9)}
}

func (h *hopReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if !h.done {
		h.scan(p[:n])
	}
	return n, err
}

func (h *hopReader) scan(b []byte) {
	for _, c := range b {
		if h.done {
			return
		}
		if c == '\n' {
			if h.bol || (len(h.prefix) == 1 && h.prefix[0] == '\r') {
				h.endMessageID()
				h.done = true // the empty line: end of header
				return
			}
			h.bol = true
			h.prefix = h.prefix[:0]
			continue
		}
		if h.bol {
			h.bol = false
			h.prefix = h.prefix[:0]
			if c != ' ' && c != '\t' {
				h.endMessageID() // a new field, not a continuation
			}
		}
		if h.messageID == "" && len(h.line) < maxMessageIDLine && (h.inMID || len(h.line) < len("message-id:")) {
			h.line = append(h.line, c)
			if !h.inMID && len(h.line) == len("message-id:") {
				if strings.EqualFold(string(h.line), "message-id:") {
					h.inMID = true
				}
			}
		}
		if len(h.prefix) < 9 {
			h.prefix = append(h.prefix, c|0x20*byte(btoi(c >= 'A' && c <= 'Z')))
			if len(h.prefix) == 9 && string(h.prefix) == "received:" {
				h.hops++
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// endMessageID ends the current field: the first Message-ID's value is
// kept (white space and line breaks folded away), any other line
// dropped.
func (h *hopReader) endMessageID() {
	if h.inMID && h.messageID == "" {
		v := strings.Join(strings.Fields(string(h.line[len("message-id:"):])), " ")
		if v == "" {
			v = " " // present but empty: not looked for again
		}
		h.messageID = v
	}
	h.inMID = false
	h.line = h.line[:0]
}
