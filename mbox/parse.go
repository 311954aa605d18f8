package mbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Limits of the splitter. Header lines are never kept whole: only the
// first maxLineChunk bytes of a line are looked at, the rest is counted.
const (
	maxLineChunk  = 64 << 10 // bufio buffer: the part of a line examined
	maxHiddenRuns = 64       // hidden header fields remembered per message
	maxValueLen   = 8 << 10  // longest hidden header value parsed
	maxKeywords   = 256      // keywords per message or in X-IMAPbase
	maxDamage     = 100      // damage reports kept per file
)

// seg is a byte range [off, off+n) of the mbox file.
type seg struct{ off, n int64 }

// rawMsg is one message as the splitter found it in the file.
type rawMsg struct {
	fromOff int64 // the "From " separator line
	hdrOff  int64 // first header line
	sepOff  int64 // the empty line ending the header (== bodyOff when none)
	bodyOff int64
	bodyEnd int64 // end of the body (the trailing empty line excluded)
	next    int64 // where the next message (or EOF) begins
	hidden  []seg // hidden header fields (X-UID, Status...) in the header
	// hdrVsize, sepVsize and bodyVsize are the CRLF sizes of the visible
	// header, the separator line and the body.
	hdrVsize, sepVsize, bodyVsize int64
	date                          time.Time // from the From_ line; zero when unparsable

	uid           uint32 // X-UID, 0 when absent or bad
	status        string
	xstatus       string
	keywords      []string
	hasKeywords   bool
	contentLength int64 // -1 when absent

	// X-IMAPbase or X-IMAP (pseudo message) of the first message.
	baseUIDValidity uint32
	baseLastUID     uint32
	baseKeywords    []string
	baseDigitsOff   int64 // file offset of the 10-digit last-UID field, -1 if not 10 digits
	pseudo          bool  // an X-IMAP "FOLDER INTERNAL DATA" message
}

// visibleEmpty reports whether the header holds only hidden fields, in
// which case the message is the body alone (see encodeMessage).
func (m *rawMsg) visibleEmpty() bool {
	var h int64
	for _, s := range m.hidden {
		h += s.n
	}
	return h == m.sepOff-m.hdrOff
}

// segments are the file ranges that make up the message as delivered.
func (m *rawMsg) segments() []seg {
	if m.visibleEmpty() {
		return []seg{{m.bodyOff, m.bodyEnd - m.bodyOff}}
	}
	var out []seg
	pos := m.hdrOff
	for _, h := range m.hidden {
		if h.off > pos {
			out = append(out, seg{pos, h.off - pos})
		}
		pos = h.off + h.n
	}
	if m.sepOff > pos {
		out = append(out, seg{pos, m.sepOff - pos})
	}
	if m.bodyEnd > m.sepOff {
		out = append(out, seg{m.sepOff, m.bodyEnd - m.sepOff})
	}
	return out
}

// vsize is the message's RFC822.SIZE.
func (m *rawMsg) vsize() int64 {
	if m.visibleEmpty() {
		return m.bodyVsize
	}
	return m.hdrVsize + m.sepVsize + m.bodyVsize
}

// parseResult is what the splitter found in a whole file.
type parseResult struct {
	msgs      []*rawMsg
	prefixEnd int64    // bytes before the first From_ line (kept on rewrite)
	damage    []string // what did not look right, for the log
}

func (p *parseResult) damaged(format string, args ...any) {
	if len(p.damage) < maxDamage {
		p.damage = append(p.damage, fmt.Sprintf(format, args...))
	}
}

// line is one line of the file as the lineReader returns it.
type line struct {
	off    int64
	n      int64  // whole length, newline included
	head   []byte // the first bytes of the line (valid until the next read)
	endsLF bool
	crlf   bool // ends in CRLF
}

func (l *line) blank() bool {
	return l.endsLF && (l.n == 1 || (l.n == 2 && l.crlf))
}

// vsize is the line's CRLF size.
func (l *line) vsize() int64 {
	if l.endsLF && !l.crlf {
		return l.n + 1
	}
	return l.n
}

func (l *line) isFrom() bool { return bytes.HasPrefix(l.head, []byte("From ")) }

// lineReader reads lines of a section of the file with bounded memory.
type lineReader struct {
	ra  io.ReaderAt
	br  *bufio.Reader
	off int64
	end int64
}

func newLineReader(ra io.ReaderAt) *lineReader {
	return &lineReader{ra: ra, br: bufio.NewReaderSize(nil, maxLineChunk)}
}

// seek makes the reader continue at off, reading up to end.
func (lr *lineReader) seek(off, end int64) {
	lr.off, lr.end = off, end
	lr.br.Reset(io.NewSectionReader(lr.ra, off, end-off))
}

// next reads one line; io.EOF when the section is exhausted.
func (lr *lineReader) next(l *line) error {
	*l = line{off: lr.off}
	var last2 [2]byte
	nlast := 0
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if l.n == 0 {
			l.head = chunk
		}
		l.n += int64(len(chunk))
		for _, c := range chunk[max(0, len(chunk)-2):] {
			last2[0], last2[1] = last2[1], c
			nlast++
		}
		if err == bufio.ErrBufferFull {
			if l.n == int64(len(chunk)) {
				// Keep the head valid: copy it before the buffer refills.
				l.head = append([]byte(nil), chunk...)
			}
			continue
		}
		lr.off += l.n
		if l.n > 0 && last2[1] == '\n' {
			l.endsLF = true
			l.crlf = nlast >= 2 && last2[0] == '\r'
		}
		if err != nil && l.n == 0 {
			if err == io.EOF {
				return io.EOF
			}
			return err
		}
		if err != nil && err != io.EOF {
			return err
		}
		return nil
	}
}

// hiddenField names the headers Dovecot keeps for itself and hides from
// the message (FORMATS.md 3), lower case.
func hiddenField(name []byte) string {
	switch strings.ToLower(string(name)) {
	case "x-imapbase":
		return "x-imapbase"
	case "x-imap":
		return "x-imap"
	case "x-uid":
		return "x-uid"
	case "status":
		return "status"
	case "x-status":
		return "x-status"
	case "x-keywords":
		return "x-keywords"
	case "content-length":
		return "content-length"
	}
	return ""
}

// parseFile splits a whole mbox file of the given size. It never fails on
// bad content (that is reported in damage); only read errors are returned.
func parseFile(ra io.ReaderAt, size int64) (*parseResult, error) {
	res := &parseResult{}
	lr := newLineReader(ra)
	lr.seek(0, size)
	var l line
	// Find the first From_ line; what comes before it is kept as is.
	for {
		err := lr.next(&l)
		if err == io.EOF {
			if size > 0 {
				res.damaged("no From_ line in %d bytes", size)
			}
			res.prefixEnd = size
			return res, nil
		}
		if err != nil {
			return nil, err
		}
		if l.isFrom() {
			break
		}
	}
	res.prefixEnd = l.off
	if l.off > 0 {
		res.damaged("%d bytes before the first From_ line", l.off)
	}
	buf := make([]byte, 32<<10)
	for {
		m, err := parseMessage(lr, &l, ra, size, res, buf)
		if err != nil {
			return nil, err
		}
		res.msgs = append(res.msgs, m)
		if m.next >= size {
			return res, nil
		}
		lr.seek(m.next, size)
		if err := lr.next(&l); err != nil {
			if err == io.EOF {
				return res, nil
			}
			return nil, err
		}
	}
}

// parseMessage parses the message whose From_ line is l.
func parseMessage(lr *lineReader, l *line, ra io.ReaderAt, size int64, res *parseResult, buf []byte) (*rawMsg, error) {
	m := &rawMsg{fromOff: l.off, hdrOff: l.off + l.n, contentLength: -1, baseDigitsOff: -1}
	m.date = parseFromDate(l.head)
	if !l.endsLF {
		res.damaged("From_ line at offset %d not terminated", l.off)
	}
	// Header.
	inHidden := false
	headerDone := false
	for !headerDone {
		err := lr.next(l)
		if err == io.EOF {
			m.sepOff, m.bodyOff, m.bodyEnd, m.next = size, size, size, size
			if size > m.hdrOff {
				res.damaged("message at offset %d: header without end", m.fromOff)
			}
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case l.blank():
			m.sepOff, m.bodyOff = l.off, l.off+l.n
			m.sepVsize = l.vsize()
			headerDone = true
		case len(l.head) > 0 && (l.head[0] == ' ' || l.head[0] == '\t'):
			if inHidden {
				m.hidden[len(m.hidden)-1].n += l.n
			} else {
				m.hdrVsize += l.vsize()
			}
		default:
			inHidden = false
			name, value, ok := bytes.Cut(l.head, []byte(":"))
			field := ""
			if ok {
				field = hiddenField(name)
			}
			if field == "" || len(m.hidden) >= maxHiddenRuns {
				m.hdrVsize += l.vsize()
				continue
			}
			inHidden = true
			m.hidden = append(m.hidden, seg{l.off, l.n})
			if len(value) > maxValueLen {
				value = value[:maxValueLen]
			}
			valueOff := l.off + int64(len(name)) + 1
			m.setField(field, value, valueOff)
		}
	}
	// Body: trust Content-Length when it points at the next From_ or EOF.
	if cl := m.contentLength; cl >= 0 {
		end := m.bodyOff + cl
		if next, ok := checkBodyEnd(ra, end, size); ok {
			m.bodyEnd, m.next = end, next
			vs, err := crlfSizeAt(ra, m.bodyOff, end, buf)
			if err != nil {
				return nil, err
			}
			m.bodyVsize = vs
			return m, nil
		}
		res.damaged("message at offset %d: Content-Length %d does not end at a From_ line", m.fromOff, cl)
	}
	// Scan for a From_ line preceded by an empty line.
	prevBlank, blankOff, blankVsize := true, m.bodyOff, int64(0)
	for {
		err := lr.next(l)
		if err == io.EOF {
			m.next = size
			m.bodyEnd = size
			if size > m.bodyOff {
				if prevBlank {
					m.bodyEnd = blankOff
					m.bodyVsize -= blankVsize
				} else if !endsWithLF(ra, size) {
					res.damaged("message at offset %d: no newline at the end of the file", m.fromOff)
				}
			}
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		if prevBlank && l.isFrom() {
			if l.off == m.bodyOff {
				m.bodyEnd = m.bodyOff
			} else {
				m.bodyEnd = blankOff
				m.bodyVsize -= blankVsize
			}
			m.next = l.off
			return m, nil
		}
		m.bodyVsize += l.vsize()
		prevBlank = l.blank()
		if prevBlank {
			blankOff, blankVsize = l.off, l.vsize()
		}
	}
}

func endsWithLF(ra io.ReaderAt, size int64) bool {
	var b [1]byte
	if _, err := ra.ReadAt(b[:], size-1); err != nil {
		return false
	}
	return b[0] == '\n'
}

// checkBodyEnd reports whether a body ending at end is followed by the
// trailing empty line and a From_ line (or EOF), and where the next
// message begins. yubin writes one more newline after a body that does
// not end in one.
func checkBodyEnd(ra io.ReaderAt, end, size int64) (int64, bool) {
	if end > size {
		return 0, false
	}
	if end == size {
		return size, true
	}
	var b [8]byte
	n, _ := ra.ReadAt(b[:], end)
	s := string(b[:n])
	switch {
	case strings.HasPrefix(s, "\nFrom "):
		return end + 1, true
	case strings.HasPrefix(s, "\n\nFrom "):
		return end + 2, true
	case s == "\n" && end+1 == size, s == "\n\n" && end+2 == size:
		return size, true
	}
	return 0, false
}

// crlfSizeAt is the CRLF size of the file range [off, end).
func crlfSizeAt(ra io.ReaderAt, off, end int64, buf []byte) (int64, error) {
	total := end - off
	prevCR := false // the range starts at a line start
	for off < end {
		n := int64(len(buf))
		if end-off < n {
			n = end - off
		}
		k, err := ra.ReadAt(buf[:n], off)
		chunk := buf[:k]
		for i, c := range chunk {
			if c == '\n' {
				if (i == 0 && !prevCR) || (i > 0 && chunk[i-1] != '\r') {
					total++
				}
			}
		}
		if k > 0 {
			prevCR = chunk[k-1] == '\r'
		}
		off += int64(k)
		if err != nil && off < end {
			return 0, err
		}
	}
	return total, nil
}

// setField records a hidden header's value.
func (m *rawMsg) setField(field string, value []byte, valueOff int64) {
	v := strings.TrimSpace(string(value))
	switch field {
	case "x-uid":
		if u, err := strconv.ParseUint(v, 10, 32); err == nil && u > 0 {
			m.uid = uint32(u)
		}
	case "status":
		m.status = v
	case "x-status":
		m.xstatus = v
	case "x-keywords":
		m.hasKeywords = true
		m.keywords = splitKeywords(v)
	case "content-length":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			m.contentLength = n
		}
	case "x-imapbase", "x-imap":
		f := strings.Fields(v)
		if len(f) < 2 {
			return
		}
		uv, err1 := strconv.ParseUint(f[0], 10, 32)
		last, err2 := strconv.ParseUint(f[1], 10, 32)
		if err1 != nil || err2 != nil || uv == 0 {
			return
		}
		m.baseUIDValidity, m.baseLastUID = uint32(uv), uint32(last)
		m.baseKeywords = splitKeywords(strings.Join(f[2:], " "))
		m.pseudo = field == "x-imap"
		if len(f[1]) == 10 {
			// Offset of the digits within the line: after the first
			// field and its spaces.
			if i := bytes.Index(value, []byte(f[1])); i >= 0 {
				m.baseDigitsOff = valueOff + int64(i)
			}
		}
	}
}

func splitKeywords(v string) []string {
	var out []string
	for _, k := range strings.Fields(v) {
		if len(out) >= maxKeywords {
			break
		}
		if validKeyword(k) {
			out = append(out, k)
		}
	}
	return out
}

// validKeyword reports whether k is an IMAP flag keyword (an atom).
func validKeyword(k string) bool {
	if k == "" || len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// fromDateLayouts are the asctime(3) forms a From_ line's date takes.
var fromDateLayouts = []string{
	"Mon Jan _2 15:04:05 2006",
	"Mon Jan _2 15:04:05 2006 -0700",
	"Mon Jan _2 15:04:05 -0700 2006",
	"Mon Jan _2 15:04:05 MST 2006",
	"Mon Jan _2 15:04 2006",
}

// parseFromDate reads the date at the end of a From_ line
// ("From sender  Sun Nov 22 05:38:26 2026"), in local time.
func parseFromDate(head []byte) time.Time {
	f := strings.Fields(string(head))
	for n := 5; n <= 6; n++ {
		if len(f) < n+1 {
			continue
		}
		s := strings.Join(f[len(f)-n:], " ")
		for _, layout := range fromDateLayouts {
			// _2 accepts a single space; the fields were joined with one.
			if t, err := time.ParseInLocation(strings.ReplaceAll(layout, "_2", "2"), s, time.Local); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}
