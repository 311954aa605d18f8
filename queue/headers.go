package queue

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// Postfix's defaults for the loop checks.
const (
	// DefaultHeaderSizeLimit is Postfix's header_size_limit: the most
	// bytes of a message's header block that ScanHeaders reads.
	DefaultHeaderSizeLimit = 102400
	// DefaultHopcountLimit is Postfix's hopcount_limit: a message with
	// more Received header fields than this is bounced as a mail loop
	// (5.4.6).
	DefaultHopcountLimit = 50
)

// maxDeliveredTo bounds the length of one Delivered-To value kept by
// ScanHeaders; longer values are cut (they are no address of ours).
const maxDeliveredTo = 1024

// HeaderInfo is what ScanHeaders found in a message's header block.
type HeaderInfo struct {
	// Received is the number of Received header fields: the hop count
	// that Postfix compares with hopcount_limit.
	Received int
	// DeliveredTo are the Delivered-To header fields' addresses, folded
	// to lower case, in message order.
	DeliveredTo []string
	// Size is the number of bytes of the header block read.
	Size int
	// Truncated is set when the header block was longer than the limit
	// and the rest of it was not read (Postfix discards the excess).
	Truncated bool
}

// ScanHeaders reads the header block of the message r (CRLF or LF line
// endings) up to the blank line that ends it, the first line that is
// not a header field, or limit bytes (DefaultHeaderSizeLimit when limit
// <= 0), and counts its Received fields and collects its Delivered-To
// addresses. It reads r in pieces and keeps no more than the
// Delivered-To values, whatever the length of a line.
//
// The queue uses Received for hopcount_limit; a delivery agent uses
// Delivered for Postfix local(8)'s "mail forwarding loop" check.
func ScanHeaders(r io.Reader, limit int) (*HeaderInfo, error) {
	return scanHeaders(r, limit, 4096)
}

// The states of scanHeaders at a byte of the header block.
const (
	hsLineStart = iota // at the start of a line
	hsName             // in a field name
	hsNameBlank        // in blanks between a field name and its colon
	hsValue            // in a field's value or a continuation line
)

func scanHeaders(r io.Reader, limit, bufSize int) (*HeaderInfo, error) {
	if limit <= 0 {
		limit = DefaultHeaderSizeLimit
	}
	h := &HeaderInfo{}
	br := bufio.NewReaderSize(r, bufSize)
	state := hsLineStart
	lineStart := 0  // h.Size at the start of the current line
	var name []byte // the current field's name (its first 64 bytes)
	inDT := false   // the current field is Delivered-To
	var dt []byte   // its value so far
	endField := func() {
		if inDT {
			h.DeliveredTo = append(h.DeliveredTo, normalizeDeliveredTo(dt))
			inDT, dt = false, dt[:0]
		}
	}
	done := false
	for !done {
		if h.Size >= limit {
			// Truncated when more of the message follows.
			if _, err := br.Peek(1); err == nil {
				h.Truncated = true
			}
			break
		}
		chunk, err := br.ReadSlice('\n')
		over := len(chunk) > limit-h.Size
		if over {
			chunk = chunk[:limit-h.Size]
		}
		// Walk the chunk; a line may span chunks in any state.
		for i := 0; i < len(chunk) && !done; {
			c := chunk[i]
			switch state {
			case hsLineStart:
				lineStart = h.Size + i
				if c == ' ' || c == '\t' {
					state = hsValue
					continue
				}
				endField()
				name = name[:0]
				state = hsName
			case hsName:
				switch {
				case c == ':':
					if len(name) == 0 {
						done = true
						continue
					}
					switch n := string(name); {
					case strings.EqualFold(n, "Received"):
						h.Received++
					case strings.EqualFold(n, "Delivered-To"):
						inDT = true
					}
					state = hsValue
				case c == ' ' || c == '\t':
					state = hsNameBlank
				case c < 0x20 || c >= 0x7f:
					// A blank line, or a line that is no header field:
					// the header block ends before it.
					done = true
					continue
				default:
					if len(name) < 64 {
						name = append(name, c)
					}
				}
				i++
			case hsNameBlank:
				switch {
				case c == ':' && len(name) > 0:
					state = hsName
					continue
				case c == ' ' || c == '\t':
					i++
				default:
					done = true
				}
			case hsValue:
				if inDT {
					dt = appendCapped(dt, chunk[i:])
				}
				i = len(chunk)
			}
		}
		if done {
			h.Size = lineStart
			break
		}
		h.Size += len(chunk)
		if over {
			h.Truncated = true
			break
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			state = hsLineStart
			lineStart = h.Size
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if state == hsName || state == hsNameBlank {
		// The last line read is not known to be a header field.
		h.Size = lineStart
	}
	endField()
	return h, nil
}

// Delivered reports whether addr is among the Delivered-To addresses
// (compared without regard to case): delivering to it again would be a
// mail forwarding loop, which Postfix's local(8) bounces with 5.4.6
// "mail forwarding loop for addr".
func (h *HeaderInfo) Delivered(addr string) bool {
	for _, d := range h.DeliveredTo {
		if strings.EqualFold(d, addr) {
			return true
		}
	}
	return false
}

func appendCapped(dst, src []byte) []byte {
	if room := maxDeliveredTo - len(dst); room < len(src) {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}

// normalizeDeliveredTo unfolds a Delivered-To value, drops the blanks
// and angle brackets around it and folds it to lower case.
func normalizeDeliveredTo(v []byte) string {
	v = bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, v)
	v = bytes.TrimSpace(v)
	if len(v) >= 2 && v[0] == '<' && v[len(v)-1] == '>' {
		v = v[1 : len(v)-1]
	}
	return strings.ToLower(string(v))
}
