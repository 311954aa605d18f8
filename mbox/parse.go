package mbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
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

// rawMsg is where one message is in the current version of the file.
// It is kept for every message of an open mailbox, so it is small; what
// the header says (UID, flags) comes separately in a rawMeta. A box
// changes a rawMsg only under its lock (a rewrite moves messages).
type rawMsg struct {
	fromOff int64 // the "From " separator line
	hdrOff  int64 // first header line
	sepOff  int64 // the empty line ending the header (== bodyOff when none)
	bodyOff int64
	bodyEnd int64 // end of the body (the trailing empty line excluded)
	// hid is the (first) run of hidden header fields (X-UID, Status...)
	// in the header; more holds any further runs (rare: Dovecot and yubin
	// write them together).
	hid  seg
	more *[]seg
	// hdrVsize and bodyVsize are the CRLF sizes of the visible header and
	// the body.
	hdrVsize, bodyVsize int64
}

// addHidden records a hidden header line, joined to the last run when
// adjacent.
func (m *rawMsg) addHidden(s seg) {
	last := &m.hid
	if m.more != nil {
		last = &(*m.more)[len(*m.more)-1]
	}
	switch {
	case last.n == 0:
		*last = s
	case last.off+last.n == s.off:
		last.n += s.n
	default:
		if m.more == nil {
			m.more = &[]seg{}
		}
		*m.more = append(*m.more, s)
	}
}

// hiddenRuns returns the runs of hidden fields in file order.
func (m *rawMsg) hiddenRuns() []seg {
	if m.hid.n == 0 {
		return nil
	}
	out := []seg{m.hid}
	if m.more != nil {
		out = append(out, *m.more...)
	}
	return out
}

func (m *rawMsg) hiddenCount() int {
	if m.hid.n == 0 {
		return 0
	}
	if m.more == nil {
		return 1
	}
	return 1 + len(*m.more)
}

// sepVsize is the CRLF size of the empty line after the header.
func (m *rawMsg) sepVsize() int64 {
	if m.bodyOff > m.sepOff {
		return 2
	}
	return 0
}

// rawMeta is what a message's header and From_ line say.
type rawMeta struct {
	uid    uint32 // X-UID, 0 when absent or bad
	flags  store.Flags
	date   int64  // from the From_ line, Unix seconds; 0 when unparsable
	digest uint64 // contentDigest
}

// baseInfo is the X-IMAPbase (or X-IMAP, in a pseudo message) of the
// first message.
type baseInfo struct {
	uidValidity uint32
	lastUID     uint32
	keywords    []string
	digitsOff   int64 // file offset of the 10-digit last-UID field, -1 if not 10 digits
	pseudo      bool  // an X-IMAP "FOLDER INTERNAL DATA" message
}

// headerState collects the hidden fields while a header is parsed.
type headerState struct {
	first         bool // the first message: X-IMAPbase counts
	base          baseInfo
	uid           uint32
	status        string
	xstatus       string
	keywords      []string
	contentLength int64 // -1 when absent
	date          time.Time
}

// visibleEmpty reports whether the header holds only hidden fields, in
// which case the message is the body alone (see encodeMessage).
func (m *rawMsg) visibleEmpty() bool {
	h := m.hid.n
	if m.more != nil {
		for _, s := range *m.more {
			h += s.n
		}
	}
	return h == m.sepOff-m.hdrOff
}

// visibleHeader are the file ranges of the header without the hidden
// fields (none when it holds only those).
func (m *rawMsg) visibleHeader() []seg {
	if m.visibleEmpty() {
		return nil
	}
	var out []seg
	pos := m.hdrOff
	for _, h := range m.hiddenRuns() {
		if h.off > pos {
			out = append(out, seg{pos, h.off - pos})
		}
		pos = h.off + h.n
	}
	if m.sepOff > pos {
		out = append(out, seg{pos, m.sepOff - pos})
	}
	return out
}

// segments are the file ranges that make up the message as delivered.
func (m *rawMsg) segments() []seg {
	if m.visibleEmpty() {
		return []seg{{m.bodyOff, m.bodyEnd - m.bodyOff}}
	}
	out := m.visibleHeader()
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
	return m.hdrVsize + m.sepVsize() + m.bodyVsize
}

// parseResult is what the splitter found in a whole file.
type parseResult struct {
	msgs      []*rawMsg
	metas     []rawMeta // one per message
	base      baseInfo  // of the first message
	prefixEnd int64     // bytes before the first From_ line (kept on rewrite)
	damage    []string  // what did not look right, for the log
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
	res.base.digitsOff = -1
	return res, res.messages(lr, &l, ra, size, true)
}

// parseTail parses the messages from start, which must be the From_
// line of a message, to size: the part of a file another program only
// appended to since it was read (the message at start is parsed again,
// as its end has moved). ok is false when no From_ line starts at start.
func parseTail(ra io.ReaderAt, start, size int64) (res *parseResult, ok bool, err error) {
	res = &parseResult{}
	res.base.digitsOff = -1
	lr := newLineReader(ra)
	lr.seek(start, size)
	var l line
	if err := lr.next(&l); err != nil || !l.isFrom() {
		if err == io.EOF {
			err = nil
		}
		return nil, false, err
	}
	return res, true, res.messages(lr, &l, ra, size, false)
}

// messages parses the messages from the From_ line l on; first says l
// is the file's first message (its X-IMAPbase counts).
func (res *parseResult) messages(lr *lineReader, l *line, ra io.ReaderAt, size int64, first bool) error {
	buf := make([]byte, 32<<10)
	for {
		hs := headerState{first: first && len(res.msgs) == 0, contentLength: -1, base: baseInfo{digitsOff: -1}}
		m, meta, next, err := parseMessage(lr, l, ra, size, res, buf, &hs)
		if err != nil {
			return err
		}
		if hs.first {
			res.base = hs.base
		}
		res.msgs = append(res.msgs, m)
		res.metas = append(res.metas, meta)
		if next >= size {
			return nil
		}
		lr.seek(next, size)
		if err := lr.next(l); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// parseMessage parses the message whose From_ line is l and returns it
// with where the next one begins.
func parseMessage(lr *lineReader, l *line, ra io.ReaderAt, size int64, res *parseResult, buf []byte, hs *headerState) (*rawMsg, rawMeta, int64, error) {
	m, next, err := parseRanges(lr, l, ra, size, res, buf, hs)
	if err != nil {
		return nil, rawMeta{}, 0, err
	}
	meta := rawMeta{uid: hs.uid, flags: hs.flags()}
	if meta.digest, err = contentDigest(ra, m, buf[:digestBuf]); err != nil {
		return nil, rawMeta{}, 0, err
	}
	if !hs.date.IsZero() {
		meta.date = hs.date.Unix()
	}
	return m, meta, next, nil
}

// parseRanges finds the parts of the message whose From_ line is l.
func parseRanges(lr *lineReader, l *line, ra io.ReaderAt, size int64, res *parseResult, buf []byte, hs *headerState) (*rawMsg, int64, error) {
	m := &rawMsg{fromOff: l.off, hdrOff: l.off + l.n}
	hs.date = parseFromDate(l.head)
	if !l.endsLF {
		res.damaged("From_ line at offset %d not terminated", l.off)
	}
	// Header.
	inHidden := false
	headerDone := false
	for !headerDone {
		err := lr.next(l)
		if err == io.EOF {
			m.sepOff, m.bodyOff, m.bodyEnd = size, size, size
			if size > m.hdrOff {
				res.damaged("message at offset %d: header without end", m.fromOff)
			}
			return m, size, nil
		}
		if err != nil {
			return nil, 0, err
		}
		switch {
		case l.blank():
			m.sepOff, m.bodyOff = l.off, l.off+l.n
			headerDone = true
		case len(l.head) > 0 && (l.head[0] == ' ' || l.head[0] == '\t'):
			if inHidden {
				m.addHidden(seg{l.off, l.n})
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
			if field == "" || m.hiddenCount() >= maxHiddenRuns {
				m.hdrVsize += l.vsize()
				continue
			}
			inHidden = true
			m.addHidden(seg{l.off, l.n})
			if len(value) > maxValueLen {
				value = value[:maxValueLen]
			}
			valueOff := l.off + int64(len(name)) + 1
			hs.setField(field, value, valueOff)
		}
	}
	// Body: trust Content-Length when it points at the next From_ or EOF.
	if cl := hs.contentLength; cl >= 0 {
		end := m.bodyOff + cl
		if next, ok := checkBodyEnd(ra, end, size); ok {
			m.bodyEnd = end
			vs, err := crlfSizeAt(ra, m.bodyOff, end, buf)
			if err != nil {
				return nil, 0, err
			}
			m.bodyVsize = vs
			return m, next, nil
		}
		res.damaged("message at offset %d: Content-Length %d does not end at a From_ line", m.fromOff, cl)
	}
	// Scan for a From_ line preceded by an empty line.
	prevBlank, blankOff, blankVsize := true, m.bodyOff, int64(0)
	for {
		err := lr.next(l)
		if err == io.EOF {
			m.bodyEnd = size
			if size > m.bodyOff {
				if prevBlank {
					m.bodyEnd = blankOff
					m.bodyVsize -= blankVsize
				} else if !endsWithLF(ra, size) {
					res.damaged("message at offset %d: no newline at the end of the file", m.fromOff)
				}
			}
			return m, size, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if prevBlank && l.isFrom() {
			if l.off == m.bodyOff {
				m.bodyEnd = m.bodyOff
			} else {
				m.bodyEnd = blankOff
				m.bodyVsize -= blankVsize
			}
			return m, l.off, nil
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
func (m *headerState) setField(field string, value []byte, valueOff int64) {
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
		m.keywords = splitKeywords(v)
	case "content-length":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			m.contentLength = n
		}
	case "x-imapbase", "x-imap":
		if !m.first || m.base.uidValidity != 0 {
			return
		}
		f := strings.Fields(v)
		if len(f) < 2 {
			return
		}
		uv, err1 := strconv.ParseUint(f[0], 10, 32)
		last, err2 := strconv.ParseUint(f[1], 10, 32)
		if err1 != nil || err2 != nil || uv == 0 {
			return
		}
		m.base.uidValidity, m.base.lastUID = uint32(uv), uint32(last)
		m.base.keywords = splitKeywords(strings.Join(f[2:], " "))
		m.base.pseudo = field == "x-imap"
		if len(f[1]) == 10 {
			// Offset of the digits within the line: after the first
			// field and its spaces.
			if i := bytes.Index(value, []byte(" "+f[1])); i >= 0 {
				m.base.digitsOff = valueOff + int64(i) + 1
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
