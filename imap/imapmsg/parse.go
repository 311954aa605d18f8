package imapmsg

import (
	"bytes"
	"io"
)

// Parse reads the message of stored size size from r once and returns its
// structure. Only header blocks are held in memory (each bounded by
// limits.MaxHeaderBytes); bodies are scanned line by line. Malformed MIME
// never fails (see the package documentation); only a read error does.
func Parse(r io.ReaderAt, size int64, limits Limits) (*Message, error) {
	p := &parser{lr: newLineReader(r, size), lim: limits.withDefaults()}
	m := &Message{RawSize: size, Root: &Part{}}
	p.msg = m
	m.checkpoints = append(m.checkpoints, checkpoint{})
	p.nparts = 1
	p.entity(m.Root, 0, true, false)
	m.Size = p.lr.crlf
	err := p.lr.err
	p.lr.release()
	if err != nil {
		return nil, err
	}
	m.mem = p.mem + int64(len(m.checkpoints))*16 + 256
	return m, nil
}

// checkpointEvery is the CRLF-view distance between checkpoints; part
// headers and bodies get one when partCheckpointEvery from the last, so
// that reading a part's body seldom skips much.
const (
	checkpointEvery     = 64 << 10
	partCheckpointEvery = 4 << 10
)

type parser struct {
	lr     *lineReader
	lim    Limits
	msg    *Message
	nparts int
	bounds [][]byte // active boundaries, "--" included, outermost first
	mem    int64
}

// end says what ended an entity.
type end struct {
	eof   bool
	idx   int   // index in bounds of the delimiter found
	close bool  // the delimiter was a close delimiter
	delim int64 // CRLF offset of the delimiter line
	// keepEOL: the delimiter directly follows a close delimiter line, so
	// no line break before it is left to strip (Dovecot's sizes).
	keepEOL   bool
	lfsBefore int64 // LFs read before the delimiter line
}

// read returns the next chunk and, when it starts a line that is a
// boundary delimiter, the end it makes.
func (p *parser) read() (chunk []byte, start bool, e *end, ok bool) {
	lr := p.lr
	off, lfs := lr.crlf, lr.lfs
	p.checkpoint(checkpointEvery)
	chunk, start, ok = lr.next()
	if !ok {
		return nil, start, &end{eof: true}, false
	}
	if start && len(p.bounds) > 0 && len(chunk) >= 2 && chunk[0] == '-' && chunk[1] == '-' {
		for i := len(p.bounds) - 1; i >= 0; i-- {
			b := p.bounds[i]
			if bytes.HasPrefix(chunk, b) {
				rest := chunk[len(b):]
				return chunk, start, &end{idx: i, close: bytes.HasPrefix(rest, []byte("--")), delim: off, lfsBefore: lfs}, true
			}
		}
	}
	return chunk, start, nil, true
}

// checkpoint records the current position if it is a line start at
// least every bytes after the last checkpoint.
func (p *parser) checkpoint(every int64) {
	lr := p.lr
	cps := p.msg.checkpoints
	if lr.atStart && !lr.prevCR && lr.crlf >= cps[len(cps)-1].crlf+every {
		p.msg.checkpoints = append(cps, checkpoint{crlf: lr.crlf, raw: lr.raw})
	}
}

// entity parses one MIME entity whose header starts at the current
// position and returns what ended it.
func (p *parser) entity(part *Part, depth int, keepHeader, digest bool) *end {
	lr := p.lr
	p.checkpoint(partCheckpointEvery)
	part.HeaderOffset = lr.crlf
	var hdr []byte
	full := false
	var e *end
	for {
		chunk, start, de, ok := p.read()
		if !ok {
			e = de
			break
		}
		if de != nil {
			e = de
			break
		}
		if start && (len(chunk) == 1 || (len(chunk) == 2 && chunk[0] == '\r' && chunk[1] == '\n')) && chunk[len(chunk)-1] == '\n' {
			break // the blank line ending the header
		}
		if !full {
			if len(hdr)+len(chunk) > p.lim.MaxHeaderBytes {
				// Keep whole lines only: a cut field is dropped.
				full = true
				hdr = hdr[:bytes.LastIndexByte(hdr, '\n')+1]
			} else {
				hdr = append(hdr, chunk...)
			}
		}
	}
	h := parseHeader(hdr, p.lim.MaxHeaderFields)
	if e != nil && !e.eof {
		// A delimiter inside the header: the entity has no body, and the
		// line break before the delimiter is not the header's.
		part.HeaderSize = e.delim - part.HeaderOffset
		if part.HeaderSize >= 2 && !e.keepEOL {
			part.HeaderSize -= 2
		}
		part.BodyOffset = part.HeaderOffset + part.HeaderSize
	} else {
		part.BodyOffset = lr.crlf
		part.HeaderSize = part.BodyOffset - part.HeaderOffset
	}
	p.describe(part, h, digest)
	if keepHeader {
		part.Header = h
		p.mem += int64(len(hdr)) + int64(len(h))*32
	}
	p.mem += 200 + int64(len(part.Params))*32
	if e != nil {
		part.finish(e, lr)
		return e
	}

	lf0 := lr.lfs
	p.checkpoint(partCheckpointEvery)
	switch {
	case part.IsMultipart() && depth < p.lim.MaxDepth && p.nparts < p.lim.MaxParts:
		if b, ok := part.Param("boundary"); ok && b != "" {
			e = p.multipart(part, depth, b)
		}
	case part.IsMessageType() && depth < p.lim.MaxDepth && p.nparts < p.lim.MaxParts:
		inner := &Part{}
		p.nparts++
		e = p.entity(inner, depth+1, true, false)
		part.Message = inner
	}
	if e == nil {
		// A leaf, or a multipart without a usable boundary.
		for {
			_, _, de, ok := p.read()
			if !ok || de != nil {
				e = de
				break
			}
		}
	}
	part.finishBody(e, lr, lf0)
	return e
}

// multipart parses the preamble, children and epilogue of a multipart.
func (p *parser) multipart(part *Part, depth int, boundary string) *end {
	my := len(p.bounds)
	p.bounds = append(p.bounds, append([]byte("--"), boundary...))
	defer func() { p.bounds = p.bounds[:my] }()
	digest := equalFoldASCII(part.Subtype, "digest")
	// Preamble.
	var e *end
	for {
		_, _, de, ok := p.read()
		if !ok {
			return de
		}
		if de != nil {
			e = de
			break
		}
	}
	for e.idx == my && !e.close {
		if p.nparts >= p.lim.MaxParts {
			// Stop splitting: drop our boundary and read on as a leaf.
			p.bounds = p.bounds[:my]
			return nil
		}
		child := &Part{}
		p.nparts++
		part.Children = append(part.Children, child)
		e = p.entity(child, depth+1, false, digest)
		if e.eof {
			return e
		}
	}
	if e.idx < my {
		return e // an outer delimiter ended us
	}
	// Close delimiter: the epilogue runs to an outer delimiter or EOF.
	p.bounds = p.bounds[:my]
	epilogue := p.lr.crlf
	for {
		_, _, de, ok := p.read()
		if !ok || de != nil {
			if de != nil && !de.eof && de.delim == epilogue {
				de.keepEOL = true
			}
			return de
		}
	}
}

// finish sets an entity's body as empty, ended by e.
func (part *Part) finish(e *end, lr *lineReader) {
	part.BodySize = 0
	part.Lines = 0
}

// finishBody sets the body's size and line count (the number of LFs in
// the body, as Dovecot counts: a last line without one is not counted)
// from what ended it.
func (part *Part) finishBody(e *end, lr *lineReader, lf0 int64) {
	if e == nil || e.eof {
		part.BodySize = lr.crlf - part.BodyOffset
		part.Lines = lr.lfs - lf0
		return
	}
	if e.delim <= part.BodyOffset {
		part.BodySize, part.Lines = 0, 0
		if e.delim == part.BodyOffset && !e.keepEOL && part.HeaderSize >= 2 {
			// The blank line after the header is the line break that
			// belongs to the delimiter (RFC 2046 5.1.1): the header has
			// no blank line of its own, as Dovecot reads it
			// ("Content-Type: text/plain\r\n\r\n--b": a 26-byte MIME
			// header and an empty body).
			part.HeaderSize -= 2
			part.BodyOffset -= 2
		}
		return
	}
	if e.keepEOL {
		part.BodySize = e.delim - part.BodyOffset
		part.Lines = e.lfsBefore - lf0
		return
	}
	part.BodySize = e.delim - 2 - part.BodyOffset
	part.Lines = e.lfsBefore - lf0 - 1
}

// IsMessageType reports whether p's media type encapsulates a message
// (message/rfc822 or message/global).
func (part *Part) IsMessageType() bool {
	return equalFoldASCII(part.Type, "message") && (equalFoldASCII(part.Subtype, "rfc822") || equalFoldASCII(part.Subtype, "global"))
}
