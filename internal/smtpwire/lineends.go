package smtpwire

import (
	"bytes"
	"io"
	"sync"
)

// lineEndsBufs holds the buffers of finished NormalizeLineEnds readers:
// the input piece and room for its output, which at most doubles (every
// byte a bare LF).
var lineEndsBufs = sync.Pool{New: func() any { b := make([]byte, 3*lineEndsPiece); return &b }}

const lineEndsPiece = 4 << 10

// NormalizeLineEnds returns a reader of r's bytes with every line ending
// made CRLF, as a DataReader yields DATA text: a bare LF becomes CRLF,
// the CRs before an LF are one line end, any other CR becomes a space,
// and CRs at the very end become CRLF. It is for message text that
// came without DATA's line discipline (BDAT chunks of a message that is
// not BINARYMIME), so that such a message is stored as Postfix 3.7's
// smtpd stores it, with nothing a lenient next hop could take for a
// line end.
func NormalizeLineEnds(r io.Reader) io.Reader {
	return &lineEnds{r: r}
}

type lineEnds struct {
	r    io.Reader
	pool *[]byte // buf and the room out is made in, from lineEndsBufs
	buf  []byte
	out  []byte // transformed bytes not yet read
	crs  int    // CRs seen at the end of the last piece, not yet placed
	err  error
}

// fill reads and transforms the next piece; at the end the buffers go
// back to the pool.
func (l *lineEnds) fill() {
	if l.pool == nil {
		l.pool = lineEndsBufs.Get().(*[]byte)
		l.buf = (*l.pool)[:lineEndsPiece]
	}
	n, err := l.r.Read(l.buf)
	l.out = l.transform((*l.pool)[lineEndsPiece:lineEndsPiece], l.buf[:n])
	if err != nil {
		l.err = err
		if err == io.EOF && l.crs > 0 {
			l.out = append(l.out, '\r', '\n')
			l.crs = 0
		}
	}
}

// release gives the buffers back once the output is all read.
func (l *lineEnds) release() {
	if l.pool != nil && len(l.out) == 0 {
		lineEndsBufs.Put(l.pool)
		l.pool, l.buf, l.out = nil, nil, nil
	}
}

func (l *lineEnds) Read(p []byte) (int, error) {
	for len(l.out) == 0 && l.err == nil {
		l.fill()
	}
	if len(l.out) == 0 {
		l.release()
		return 0, l.err
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	if l.err != nil {
		l.release()
	}
	return n, nil
}

// WriteTo writes the rest to w, so that io.Copy needs no buffer of its
// own.
func (l *lineEnds) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(l.out) > 0 {
			n, err := w.Write(l.out)
			total += int64(n)
			l.out = l.out[n:]
			if err != nil {
				return total, err
			}
		}
		if l.err != nil {
			l.release()
			if l.err == io.EOF {
				return total, nil
			}
			return total, l.err
		}
		l.fill()
	}
}

// transform appends in, normalised, to out.
func (l *lineEnds) transform(out, in []byte) []byte {
	nextCR, nextLF := -2, -2 // -2: not searched yet; -1: none
	base := 0                // offset of in within the original piece
	for len(in) > 0 {
		if l.crs > 0 {
			switch in[0] {
			case '\r':
				l.crs++
				in, base = in[1:], base+1
				continue
			case '\n':
				out = append(out, '\r', '\n')
				l.crs = 0
				in, base = in[1:], base+1
				continue
			}
			for ; l.crs > 0; l.crs-- {
				out = append(out, ' ')
			}
		}
		if nextCR != -1 && nextCR < base {
			if nextCR = bytes.IndexByte(in, '\r'); nextCR >= 0 {
				nextCR += base
			}
		}
		if nextLF != -1 && nextLF < base {
			if nextLF = bytes.IndexByte(in, '\n'); nextLF >= 0 {
				nextLF += base
			}
		}
		k := nextCR
		if k < 0 || nextLF >= 0 && nextLF < k {
			k = nextLF
		}
		if k < 0 {
			return append(out, in...)
		}
		out = append(out, in[:k-base]...)
		if in[k-base] == '\n' {
			out = append(out, '\r', '\n') // a bare LF
		} else {
			l.crs = 1
		}
		in, base = in[k-base+1:], k+1
	}
	return out
}
