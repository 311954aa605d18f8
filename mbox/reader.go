package mbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/yubinmail/yubin/store"
)

// reader is a message read from its ranges of one version of the mbox
// file (store.MessageReader). It keeps that version open, so a rewrite
// of the mailbox meanwhile does not disturb it.
type reader struct {
	ref  *fileRef
	segs []seg
	size int64

	// The message's From_ line as it was when the reader was made, and
	// the file's identity then: a file changed since is checked to
	// still hold the message there (another program may have rewritten
	// it in place).
	fromOff int64
	from    []byte
	imu     sync.Mutex // guards ident (Read holds mu around ReadAt)
	ident   fileIdent

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

// newMsgReader is a reader of message m of the file behind ref.
func newMsgReader(ref *fileRef, m *rawMsg) *reader {
	r := newReader(ref, m.segments())
	r.fromOff = m.fromOff
	r.from = make([]byte, min(64, m.hdrOff-m.fromOff))
	n, _ := ref.f.ReadAt(r.from, m.fromOff)
	r.from = r.from[:n]
	if fi, err := ref.f.Stat(); err == nil {
		r.ident = identOf(fi)
	}
	return r
}

// errMoved reports a message another program moved in the file since
// it was opened.
var errMoved = fmt.Errorf("mbox: the message moved in the file (rewritten by another program): %w", store.ErrTemporary)

// checkPlace verifies, with the read lock held, that the message is
// still where it was.
func (r *reader) checkPlace() error {
	if r.from == nil {
		return nil
	}
	fi, err := r.ref.f.Stat()
	if err != nil {
		return err
	}
	id := identOf(fi)
	r.imu.Lock()
	defer r.imu.Unlock()
	if id == r.ident {
		return nil
	}
	cur := make([]byte, len(r.from))
	if n, _ := r.ref.f.ReadAt(cur, r.fromOff); n != len(cur) || !bytes.Equal(cur, r.from) {
		return errMoved
	}
	r.ident = id
	return nil
}

// Size implements store.MessageReader.
func (r *reader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("mbox: negative offset")
	}
	if err := r.ref.rlock(); err != nil {
		return 0, err
	}
	defer r.ref.runlock()
	if err := r.checkPlace(); err != nil {
		return 0, err
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
