// Package prefixread joins a few header lines a delivery adds
// (Return-Path, Delivered-To, Received) to the message they go before,
// as io.MultiReader would, but copies through a recycled buffer:
// io.MultiReader's WriteTo allocates 32 KiB per call, which at a
// thousand deliveries a second was most of a mail host's allocation.
package prefixread

import (
	"io"
	"sync"
)

// bufs recycles the copy buffers.
var bufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Reader reads prefix, then r.
type Reader struct {
	prefix string
	off    int
	r      io.Reader
}

// New returns a reader of prefix followed by r.
func New(prefix string, r io.Reader) *Reader {
	return &Reader{prefix: prefix, r: r}
}

// Read implements io.Reader.
func (p *Reader) Read(b []byte) (int, error) {
	if p.off < len(p.prefix) {
		n := copy(b, p.prefix[p.off:])
		p.off += n
		return n, nil
	}
	return p.r.Read(b)
}

// WriteTo writes what is left of the prefix, then the rest of r, to w
// (io.WriterTo), through a recycled buffer.
func (p *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if p.off < len(p.prefix) {
		n, err := io.WriteString(w, p.prefix[p.off:])
		p.off += n
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	// Hide both sides' ReaderFrom and WriterTo: they would bring a
	// buffer of their own.
	n, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{p.r}, *bp)
	return total + n, err
}
