package imapmsg

import (
	"bufio"
	"io"
	"sync"
)

// lineReader reads stored bytes line by line (lines longer than its
// buffer come in several chunks) and tracks offsets in both the stored and
// the CRLF view.
type lineReader struct {
	br        *bufio.Reader
	raw, crlf int64 // offsets of the next unread byte
	lfs       int64 // LFs read so far
	prevCR    bool  // the last byte read was CR
	atStart   bool  // the next chunk begins a line
	err       error // a read error other than EOF
}

const lineBufSize = 64 << 10

var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, lineBufSize) }}

func newLineReader(r io.ReaderAt, size int64) *lineReader {
	br := bufPool.Get().(*bufio.Reader)
	br.Reset(io.NewSectionReader(r, 0, size))
	return &lineReader{br: br, atStart: true}
}

// release returns the buffer to the pool; l is unusable afterwards.
func (l *lineReader) release() {
	l.br.Reset(nil)
	bufPool.Put(l.br)
	l.br = nil
}

// next returns the next chunk (valid until the following call) and
// whether it begins a line; ok is false at the end or on error.
func (l *lineReader) next() (chunk []byte, start, ok bool) {
	start = l.atStart
	b, err := l.br.ReadSlice('\n')
	if len(b) == 0 {
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			l.err = err
		}
		return nil, start, false
	}
	n := int64(len(b))
	if b[len(b)-1] == '\n' {
		cr := l.prevCR
		if len(b) >= 2 {
			cr = b[len(b)-2] == '\r'
		}
		if !cr {
			n++
		}
		l.lfs++
		l.atStart = true
	} else {
		l.atStart = false
	}
	l.prevCR = b[len(b)-1] == '\r'
	l.raw += int64(len(b))
	l.crlf += n
	return b, start, true
}
