package imapmsg

import (
	"bufio"
	"bytes"
	"io"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// region returns a reader of n bytes of the CRLF view starting at off.
func (m *Message) region(r io.ReaderAt, off, n int64) (io.Reader, error) {
	if n <= 0 || off >= m.Size {
		return bytes.NewReader(nil), nil
	}
	if off+n > m.Size {
		n = m.Size - off
	}
	cps := m.checkpoints
	i := sort.Search(len(cps), func(i int) bool { return cps[i].crlf > off }) - 1
	if i < 0 {
		i = 0
	}
	cp := cps[i]
	cr := store.NewCRLFReader(io.NewSectionReader(r, cp.raw, m.RawSize-cp.raw))
	if skip := off - cp.crlf; skip > 0 {
		if _, err := io.CopyN(io.Discard, cr, skip); err != nil {
			return nil, eofIsShort(err)
		}
	}
	return io.LimitReader(cr, n), nil
}

// eofIsShort turns an early EOF into io.ErrUnexpectedEOF: the message
// changed under us.
func eofIsShort(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (m *Message) section(r io.ReaderAt, spec SectionSpec, partial *Partial) (io.Reader, int64, error) {
	p := m.Root
	if len(spec.Part) > 0 {
		p = m.Find(spec.Part)
		if p == nil {
			// Dovecot answers an empty string for a part that does not
			// exist.
			return bytes.NewReader(nil), 0, nil
		}
	}
	// The entity whose header/body HEADER, TEXT and HEADER.FIELDS select:
	// the message itself, or the message a message/rfc822 part carries.
	msg := p
	if len(spec.Part) > 0 {
		msg = p.Message
	}
	var off, n int64
	switch spec.Specifier {
	case SpecNone:
		if len(spec.Part) == 0 {
			off, n = 0, m.Size
		} else {
			off, n = p.BodyOffset, p.BodySize
		}
	case SpecMIME:
		off, n = p.HeaderOffset, p.HeaderSize
	case SpecHeader, SpecText, SpecHeaderFields, SpecHeaderFieldsNot:
		if msg == nil {
			// Not a message/rfc822 part: an empty section.
			return bytes.NewReader(nil), 0, nil
		}
		switch spec.Specifier {
		case SpecHeader:
			off, n = msg.HeaderOffset, msg.HeaderSize
		case SpecText:
			off, n = msg.BodyOffset, msg.BodySize
		default:
			b, err := m.filterHeader(r, msg, spec.Fields, spec.Specifier == SpecHeaderFieldsNot)
			if err != nil {
				return nil, 0, err
			}
			b, size := applyPartial(b, partial)
			return bytes.NewReader(b), size, nil
		}
	default:
		return nil, 0, ErrBadSection
	}
	if partial != nil {
		off, n = clip(off, n, partial)
	}
	rd, err := m.region(r, off, n)
	if err != nil {
		return nil, 0, err
	}
	return rd, n, nil
}

// clip applies a partial range to the region (off, n).
func clip(off, n int64, p *Partial) (int64, int64) {
	if p.Offset >= n || p.Offset < 0 {
		return off + n, 0
	}
	off, n = off+p.Offset, n-p.Offset
	if p.Count >= 0 && p.Count < n {
		n = p.Count
	}
	return off, n
}

func applyPartial(b []byte, p *Partial) ([]byte, int64) {
	if p != nil {
		off, n := clip(0, int64(len(b)), p)
		b = b[off : off+n]
	}
	return b, int64(len(b))
}

// filterHeader returns the fields of part's header named (or, with not,
// not named) in names, in the CRLF view, as Dovecot does: HEADER.FIELDS
// always ends with CRLF, HEADER.FIELDS.NOT copies the blank line ending
// the header when there is one.
func (m *Message) filterHeader(r io.ReaderAt, part *Part, names []string, not bool) ([]byte, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	size := part.HeaderSize
	if size > maxFilterBytes {
		size = maxFilterBytes
	}
	rd, err := m.region(r, part.HeaderOffset, size)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(rd)
	var out []byte
	keep, start := false, true
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if !start || line[0] == ' ' || line[0] == '\t' {
				// A continuation line follows its field's fate.
			} else if i := bytes.IndexByte(line, ':'); i > 0 {
				name := strings.ToLower(string(bytes.TrimRight(line[:i], " \t")))
				keep = want[name] != not
			} else if start && (len(line) == 2 && line[0] == '\r') {
				keep = not // the blank line ending the header
			} else {
				keep = false // junk
			}
			if keep {
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
	if !not {
		out = append(out, '\r', '\n')
	}
	return out, nil
}

// maxFilterBytes bounds the header bytes HEADER.FIELDS looks at.
const maxFilterBytes = 4 << 20
