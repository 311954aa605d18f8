package mbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/yubinmail/yubin/store"
)

// maxHeaderScan is how far into a message Append looks for the end of
// the header; a message with no empty line that early is stored as a
// body with an empty header.
const maxHeaderScan = 256 << 10

// spoolInMemory is the size up to which a message being appended is held
// in memory; larger ones go to an unlinked temporary file first (the
// Content-Length must be known before the body is written).
const spoolInMemory = 1 << 20

// spool holds a message body until it is written into the mailbox.
type spool struct {
	dir    string
	mem    []byte
	f      *os.File
	n      int64
	last   byte
	vsize  int64
	prevCR bool
}

func (s *spool) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for i, c := range p {
		if c == '\n' && !((i == 0 && s.prevCR) || (i > 0 && p[i-1] == '\r')) {
			s.vsize++
		}
	}
	s.prevCR = p[len(p)-1] == '\r'
	s.vsize += int64(len(p))
	s.last = p[len(p)-1]
	s.n += int64(len(p))
	if s.f == nil && len(s.mem)+len(p) <= spoolInMemory {
		s.mem = append(s.mem, p...)
		return len(p), nil
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, ".spool-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name())
		s.f = f
		if _, err := f.Write(s.mem); err != nil {
			return 0, err
		}
		s.mem = nil
	}
	return s.f.Write(p)
}

func (s *spool) writeTo(w io.Writer) error {
	if s.f == nil {
		_, err := w.Write(s.mem)
		return err
	}
	_, err := io.Copy(w, io.NewSectionReader(s.f, 0, s.n))
	return err
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
	}
}

// pending is a message ready to be written into a mailbox. The message
// as delivered is hdr + sep + body; with hdr nil it is body alone.
type pending struct {
	hdr      []byte
	sep      []byte
	body     *spool
	hdrVsize int64
	flags    store.Flags
	date     time.Time
	// noSync: the append may wait for SyncDeliveries for its fsync
	// (store.AppendOptions.NoSync).
	noSync bool
}

func (p *pending) vsize() int64 {
	if p.hdr == nil {
		return p.body.vsize
	}
	return p.hdrVsize + int64(len(p.sep)) + boolInt(len(p.sep) == 1) + p.body.vsize
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// limitedReader fails with store.ErrTooBig past its limit.
type limitedReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.limit <= 0 {
		return l.r.Read(p)
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("mbox: message over %d bytes: %w", l.limit, store.ErrTooBig)
	}
	return n, err
}

// prepare reads a message to append. The header is looked at (the
// fields Dovecot keeps for itself are dropped, as Dovecot drops them on
// save); the body is spooled so its Content-Length is known.
func (s *Store) prepare(r io.Reader, opts store.AppendOptions) (*pending, error) {
	for _, k := range opts.Flags.Keywords {
		if !validKeyword(k) {
			return nil, fmt.Errorf("mbox: keyword %q: %w", k, store.ErrKeywordInvalid)
		}
	}
	p := &pending{flags: opts.Flags.Apply(store.FlagsReplace, opts.Flags), date: opts.InternalDate, body: &spool{dir: s.indexRoot()}}
	if p.date.IsZero() {
		p.date = time.Now()
	}
	br := bufio.NewReaderSize(&limitedReader{r: r, left: s.opts.MaxMessageSize, limit: s.opts.MaxMessageSize}, 64<<10)
	var hdr bytes.Buffer
	atStart := true
	var sep []byte
	for hdr.Len() < maxHeaderScan {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			hdr.Write(chunk)
			atStart = false
			continue
		}
		if atStart && err == nil && (string(chunk) == "\n" || string(chunk) == "\r\n") {
			sep = append([]byte(nil), chunk...)
			break
		}
		hdr.Write(chunk)
		atStart = true
		if err == io.EOF {
			break
		}
		if err != nil {
			p.body.close()
			return nil, err
		}
	}
	if sep != nil {
		visible, vs := stripHidden(hdr.Bytes())
		if len(visible) > 0 {
			p.hdr, p.sep, p.hdrVsize = visible, sep, vs
		}
	}
	if p.hdr == nil {
		// No header/body boundary: the whole message is the body.
		p.body.Write(hdr.Bytes())
		p.body.Write(sep)
	}
	if _, err := io.Copy(p.body, br); err != nil {
		p.body.close()
		return nil, err
	}
	return p, nil
}

// stripHidden drops the fields Dovecot keeps (and their continuation
// lines) from a header and returns the rest with its CRLF size.
func stripHidden(h []byte) ([]byte, int64) {
	var out []byte
	var vs int64
	skipping := false
	for len(h) > 0 {
		i := bytes.IndexByte(h, '\n')
		var l []byte
		if i < 0 {
			l, h = h, nil
		} else {
			l, h = h[:i+1], h[i+1:]
		}
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			if skipping {
				continue
			}
		} else {
			name, _, ok := bytes.Cut(l, []byte(":"))
			skipping = ok && hiddenField(name) != ""
			if skipping {
				continue
			}
		}
		out = append(out, l...)
		vs += int64(len(l))
		if l[len(l)-1] == '\n' && (len(l) < 2 || l[len(l)-2] != '\r') {
			vs++
		}
	}
	return out, vs
}

// appendWriters are the buffered writers of appendLocked.
var appendWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// appendLocked writes pending messages at the end of the locked file f,
// fsyncs it and adds them to the box. Nothing before the old end of the
// file is rewritten except the 10 digits of X-IMAPbase's last UID.
func (b *box) appendLocked(f *os.File, items []*pending) ([]*msg, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("mbox: %w", err)
	}
	end := fi.Size()
	pre := ""
	if end > 0 {
		var tail [2]byte
		n, _ := f.ReadAt(tail[:min(2, int(end))], max(0, end-2))
		t := string(tail[:n])
		switch {
		case t == "\n\n" || (end == 1 && t == "\n"):
		case t[len(t)-1] == '\n':
			pre = "\n"
		default:
			pre = "\n\n"
		}
	}
	bw := appendWriters.Get().(*bufio.Writer)
	bw.Reset(io.NewOffsetWriter(f, end))
	defer func() {
		bw.Reset(nil)
		appendWriters.Put(bw)
	}()
	w := &countWriter{w: bw, n: end}
	w.WriteString(pre)
	lastUID := b.nextUID + uint32(len(items)) - 1
	withBase := len(b.msgs) == 0 && !b.pseudo && b.baseDigitsOff < 0
	digitsOff := int64(-1)
	var hb bytes.Buffer
	out := make([]*msg, 0, len(items))
	for i, p := range items {
		uid := b.nextUID + uint32(i)
		nr := &rawMsg{fromOff: w.n}
		w.WriteString(fromLine("", p.date))
		nr.hdrOff = w.n
		if p.hdr != nil {
			w.Write(p.hdr)
			nr.hdrVsize = p.hdrVsize
		}
		hb.Reset()
		var base *baseHeader
		if withBase && i == 0 {
			base = &baseHeader{uidValidity: b.uidValidity, lastUID: lastUID, keywords: p.flags.Keywords}
		}
		if d := writeHidden(&hb, base, uid, p.flags, p.body.n); d >= 0 {
			digitsOff = w.n + int64(d)
		}
		nr.hid = seg{w.n, int64(hb.Len())}
		w.Write(hb.Bytes())
		nr.sepOff = w.n
		if p.hdr != nil {
			w.Write(p.sep)
		} else {
			w.WriteString("\n")
		}
		nr.bodyOff = w.n
		if w.err == nil {
			if err := p.body.writeTo(w); err != nil && w.err == nil {
				w.err = err
			}
		}
		nr.bodyEnd, nr.bodyVsize = w.n, p.body.vsize
		if p.body.n > 0 && p.body.last != '\n' {
			w.WriteString("\n\n")
		} else {
			w.WriteString("\n")
		}
		out = append(out, &msg{uid: uid, flags: p.flags, date: p.date.Unix(), vsize: nr.vsize(), raw: nr})
	}
	err = w.err
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		// As a later read of the file will digest them.
		buf := make([]byte, digestBuf)
		for _, m := range out {
			if m.digest, err = contentDigest(f, m.raw, buf); err != nil {
				break
			}
		}
	}
	if err == nil && b.baseDigitsOff >= 0 && lastUID > b.baseLastUID {
		_, err = f.WriteAt(fmt.Appendf(nil, "%010d", lastUID), b.baseDigitsOff)
	}
	noSync := true
	for _, p := range items {
		noSync = noSync && p.noSync
	}
	if err == nil && !b.s.opts.NoSync && !noSync {
		err = f.Sync()
	}
	if err == nil && noSync && !b.s.opts.NoSync {
		// SyncDeliveries syncs it; noted after the write.
		err = b.s.opts.pending.Note(filepath.Dir(b.path))
	}
	if err != nil {
		// Leave the file as it was (Dovecot does the same).
		f.Truncate(end)
		b.fileChanged(f)
		return nil, fmt.Errorf("mbox: append: %w", err)
	}
	if digitsOff >= 0 {
		b.baseDigitsOff = digitsOff
		b.baseKeywords = items[0].flags.Keywords
	}
	if b.baseDigitsOff >= 0 {
		b.baseLastUID = lastUID
	}
	for _, m := range out {
		b.highest++
		m.modseq = b.highest
	}
	b.nextUID = lastUID + 1
	b.msgs = append(b.msgs, out...)
	b.fileChanged(f)
	return out, nil
}
