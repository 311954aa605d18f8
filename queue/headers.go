package queue

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"sync"
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
	// DeliveredTo are the Delivered-To header fields' addresses (the
	// rest of each field's first line, ASCII folded to lower case), in
	// message order.
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
	return scanHeaders(r, limit, headerReadSize)
}

// headerReadSize is the read buffer of ScanHeaders, recycled through
// headerReaders (a local delivery scans every message once).
const headerReadSize = 4096

var headerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, headerReadSize) }}

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
	var br *bufio.Reader
	if bufSize == headerReadSize {
		br = headerReaders.Get().(*bufio.Reader)
		br.Reset(r)
		defer func() {
			br.Reset(nil)
			headerReaders.Put(br)
		}()
	} else {
		br = bufio.NewReaderSize(r, bufSize)
	}
	state := hsLineStart
	lineStart := 0  // h.Size at the start of the current line
	var name []byte // the current field's name (its first 64 bytes)
	inDT := false   // the current field is Delivered-To
	var dt []byte   // its value so far
	endField := func() {
		if inDT {
			if v := normalizeDeliveredTo(dt); v != "" {
				h.DeliveredTo = append(h.DeliveredTo, v)
			}
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
				// Postfix reads a Delivered-To address from the field's
				// first line only.
				endField()
				if c == ' ' || c == '\t' {
					state = hsValue
					continue
				}
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

// Delivered reports whether addr is among the Delivered-To addresses,
// compared as Postfix's local(8) compares them (ASCII case folded, the
// field's first line as it is): delivering to addr again would be a mail
// forwarding loop, which local(8) bounces with 5.4.6 "mail forwarding
// loop for addr".
func (h *HeaderInfo) Delivered(addr string) bool {
	addr = asciiLower(addr)
	for _, d := range h.DeliveredTo {
		if d == addr {
			return true
		}
	}
	return false
}

// TooManyHops reports whether a message whose header block h was read
// from — as queued, with the receiving server's own Received field —
// exceeds the hop count limit (DefaultHopcountLimit when limit <= 0).
// As Postfix's cleanup(8), which rejects it with "554 5.4.0 Error: too
// many hops", the limit counts as exceeded when the Received fields
// reach it.
func (h *HeaderInfo) TooManyHops(limit int) bool {
	if limit <= 0 {
		limit = DefaultHopcountLimit
	}
	return h.Received >= limit
}

func appendCapped(dst, src []byte) []byte {
	if room := maxDeliveredTo - len(dst); room < len(src) {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}

// normalizeDeliveredTo returns a Delivered-To value as Postfix's
// delivered_hdr compares it: the rest of the field's first line after
// leading blanks, folded to lower case (ASCII). Nothing else is
// trimmed: "<addr>" or "addr " do not match addr in Postfix either.
func normalizeDeliveredTo(v []byte) string {
	v = bytes.TrimRight(v, "\r\n")
	v = bytes.TrimLeft(v, " \t")
	return asciiLower(string(v))
}

// asciiLower folds ASCII letters to lower case, as Postfix's
// lowercase().
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
