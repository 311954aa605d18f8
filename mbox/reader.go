package mbox

import (
	"errors"
	"io"
	"sync"
)

// reader is a message read from its ranges of one version of the mbox
// file (store.MessageReader). It keeps that version open, so a rewrite
// of the mailbox meanwhile does not disturb it.
type reader struct {
	ref  *fileRef
	segs []seg
	size int64

	mu     sync.Mutex
	pos    int64
	closed bool
}

func newReader(ref *fileRef, segs []seg) *reader {
	r := &reader{ref: ref, segs: segs}
	for _, s := range segs {
		r.size += s.n
	}
	return r
}

// Size implements store.MessageReader.
func (r *reader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("mbox: negative offset")
	}
	n := 0
	base := int64(0)
	for _, s := range r.segs {
		if len(p) == 0 {
			break
		}
		if off >= base+s.n {
			base += s.n
			continue
		}
		in := off - base
		want := min(int64(len(p)), s.n-in)
		k, err := r.ref.f.ReadAt(p[:want], s.off+in)
		n += k
		p = p[k:]
		off += int64(k)
		if err != nil && !(errors.Is(err, io.EOF) && int64(k) == want) {
			if errors.Is(err, io.EOF) {
				return n, io.ErrUnexpectedEOF
			}
			return n, err
		}
		base += s.n
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("mbox: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("mbox: negative position")
	}
	r.pos = offset
	return offset, nil
}

// Close implements io.Closer.
func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.ref.release()
	}
	return nil
}
