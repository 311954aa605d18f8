package imapmsg

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// A binary view is a list of segments: stored regions copied as they are,
// leaf bodies with their transfer encoding removed, and rewritten headers.
type segment struct {
	off, n int64  // a region of the CRLF view
	leaf   *Part  // when set: decode this leaf's body instead
	lit    []byte // when set: these bytes
}

// needsDecoding reports whether a leaf's encoding is one BINARY removes.
func needsDecoding(p *Part) bool {
	switch strings.ToLower(strings.TrimSpace(p.Encoding)) {
	case "", "7bit", "8bit", "binary":
		return false
	}
	return true
}

// binarySegments describes BINARY[part]: a leaf's decoded body, or for
// the whole message, a message/rfc822 or a multipart part, the content
// with every encoded leaf decoded and its header saying
// "Content-Transfer-Encoding: binary", as Dovecot converts it.
func (m *Message) binarySegments(r io.ReaderAt, path []int) ([]segment, error) {
	if len(path) == 0 {
		var segs []segment
		err := m.entitySegments(r, m.Root, &segs, 0)
		return segs, err
	}
	p := m.Find(path)
	if p == nil {
		return nil, nil
	}
	var segs []segment
	err := m.bodySegments(r, p, &segs, 0)
	return segs, err
}

// entitySegments appends header and body of p.
func (m *Message) entitySegments(r io.ReaderAt, p *Part, segs *[]segment, depth int) error {
	leaf := !p.IsMultipart() && p.Message == nil
	if leaf && needsDecoding(p) {
		if _, ok := decoderFor(p.Encoding, nil); !ok {
			return ErrUnknownCTE
		}
		h, err := m.binaryHeader(r, p)
		if err != nil {
			return err
		}
		*segs = append(*segs, segment{lit: h})
	} else {
		*segs = append(*segs, segment{off: p.HeaderOffset, n: p.HeaderSize})
	}
	if gap := p.BodyOffset - (p.HeaderOffset + p.HeaderSize); gap > 0 {
		*segs = append(*segs, segment{off: p.HeaderOffset + p.HeaderSize, n: gap})
	}
	return m.bodySegments(r, p, segs, depth)
}

// bodySegments appends the body of p.
func (m *Message) bodySegments(r io.ReaderAt, p *Part, segs *[]segment, depth int) error {
	if depth > 200 {
		return ErrUnknownCTE
	}
	end := p.BodyOffset + p.BodySize
	switch {
	case p.Message != nil:
		in := p.Message
		if in.HeaderOffset > p.BodyOffset {
			*segs = append(*segs, segment{off: p.BodyOffset, n: in.HeaderOffset - p.BodyOffset})
		}
		if err := m.entitySegments(r, in, segs, depth+1); err != nil {
			return err
		}
		if e := in.BodyOffset + in.BodySize; e < end {
			*segs = append(*segs, segment{off: e, n: end - e})
		}
	case p.IsMultipart():
		cur := p.BodyOffset
		for _, c := range p.Children {
			if c.HeaderOffset > cur {
				*segs = append(*segs, segment{off: cur, n: c.HeaderOffset - cur})
			}
			if err := m.entitySegments(r, c, segs, depth+1); err != nil {
				return err
			}
			cur = c.BodyOffset + c.BodySize
		}
		if cur < end {
			*segs = append(*segs, segment{off: cur, n: end - cur})
		}
	case needsDecoding(p):
		if _, ok := decoderFor(p.Encoding, nil); !ok {
			return ErrUnknownCTE
		}
		*segs = append(*segs, segment{leaf: p})
	default:
		*segs = append(*segs, segment{off: p.BodyOffset, n: p.BodySize})
	}
	return nil
}

// binaryHeader returns p's header without Content-Transfer-Encoding and
// with "Content-Transfer-Encoding: binary" before the blank line.
func (m *Message) binaryHeader(r io.ReaderAt, p *Part) ([]byte, error) {
	size := p.HeaderSize
	if size > maxFilterBytes {
		size = maxFilterBytes
	}
	rd, err := m.region(r, p.HeaderOffset, size)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(rd)
	var out []byte
	drop, start, blank := false, true, false
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			switch {
			case !start || line[0] == ' ' || line[0] == '\t':
			case len(line) == 2 && line[0] == '\r':
				blank = true
				drop = true
			default:
				i := bytes.IndexByte(line, ':')
				drop = i > 0 && equalFoldASCII(string(bytes.TrimRight(line[:i], " \t")), "Content-Transfer-Encoding")
			}
			if !drop {
				out = append(out, line...)
			}
		}
		start = err == nil
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			break
		}
	}
	out = append(out, "Content-Transfer-Encoding: binary\r\n"...)
	if blank {
		out = append(out, '\r', '\n')
	}
	return out, nil
}

// open returns a reader over the segments.
func (m *Message) open(r io.ReaderAt, segs []segment) io.Reader {
	return &segReader{m: m, r: r, segs: segs}
}

type segReader struct {
	m    *Message
	r    io.ReaderAt
	segs []segment
	cur  io.Reader
	err  error
}

func (s *segReader) Read(p []byte) (int, error) {
	for {
		if s.err != nil {
			return 0, s.err
		}
		if s.cur == nil {
			if len(s.segs) == 0 {
				return 0, io.EOF
			}
			seg := s.segs[0]
			s.segs = s.segs[1:]
			switch {
			case seg.lit != nil:
				s.cur = bytes.NewReader(seg.lit)
			case seg.leaf != nil:
				rd, err := s.m.region(s.r, seg.leaf.BodyOffset, seg.leaf.BodySize)
				if err != nil {
					s.err = err
					continue
				}
				s.cur, _ = decoderFor(seg.leaf.Encoding, rd)
			default:
				rd, err := s.m.region(s.r, seg.off, seg.n)
				if err != nil {
					s.err = err
					continue
				}
				s.cur = rd
			}
		}
		n, err := s.cur.Read(p)
		if err == io.EOF {
			s.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (m *Message) binarySize(r io.ReaderAt, path []int) (int64, bool, error) {
	var p *Part
	if len(path) == 0 {
		p = m.Root
	} else if p = m.Find(path); p == nil {
		return 0, false, nil
	}
	// The root's cache is for BINARY[], a part's for BINARY[path]: the
	// root reached by path [1] must not share it.
	cacheable := len(path) > 0 && p != m.Root
	if len(path) == 0 || cacheable {
		p.binMu.Lock()
		n, nul := p.binSize, p.binNUL
		p.binMu.Unlock()
		if n > 0 {
			return n - 1, nul, nil
		}
	}
	segs, err := m.binarySegments(r, path)
	if err != nil {
		return 0, false, err
	}
	cw := &countWriter{}
	if _, err := io.Copy(cw, m.open(r, segs)); err != nil {
		return 0, false, eofIsShort(err)
	}
	if len(path) == 0 || cacheable {
		p.binMu.Lock()
		p.binSize, p.binNUL = cw.n+1, cw.nul
		p.binMu.Unlock()
	}
	return cw.n, cw.nul, nil
}

func (m *Message) binary(r io.ReaderAt, path []int, partial *Partial) (io.Reader, int64, bool, error) {
	size, nul, err := m.binarySize(r, path)
	if err != nil {
		return nil, 0, false, err
	}
	off, n := int64(0), size
	if partial != nil {
		off, n = clip(0, size, partial)
	}
	if n == 0 {
		return bytes.NewReader(nil), 0, false, nil
	}
	segs, err := m.binarySegments(r, path)
	if err != nil {
		return nil, 0, false, err
	}
	rd := m.open(r, segs)
	if off > 0 {
		if _, err := io.CopyN(io.Discard, rd, off); err != nil {
			return nil, 0, false, eofIsShort(err)
		}
	}
	return io.LimitReader(rd, n), n, nul, nil
}

// countWriter counts bytes and notes NULs.
type countWriter struct {
	n   int64
	nul bool
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if !c.nul && bytes.IndexByte(p, 0) >= 0 {
		c.nul = true
	}
	return len(p), nil
}
