package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/yubinmail/yubin/blob"
)

// Open asks for the object's size (a HEAD) and returns a reader on it;
// nothing is downloaded yet. Read streams from the reader's offset with
// one GET (a ranged GET after a Seek), and ReadAt makes a ranged GET of
// just the bytes asked for: nothing before an offset is downloaded. All
// requests use ctx, so the reader fails once ctx ends.
func (s *Store) Open(ctx context.Context, key string) (blob.Reader, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3blob: open %s: %w", key, err)
	}
	head, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	info, err := s.client.StatObject(head, s.o.Bucket, name, minio.StatObjectOptions{})
	if notFound(err) {
		return nil, fmt.Errorf("s3blob: open %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap("open "+key, err)
	}
	return &reader{s: s, ctx: ctx, key: key, name: name, size: info.Size}, nil
}

// reader is an open blob. Read and Seek follow io's rule (one caller at
// a time); ReadAt and Size may be called concurrently with anything.
type reader struct {
	s    *Store
	ctx  context.Context
	key  string
	name string
	size int64

	mu     sync.Mutex // guards the fields below against Close during ReadAt
	closed bool
	pos    int64   // offset of the next Read
	stream *stream // response positioned at pos, or nil
}

// stream is a GET response being read, each read bounded by the Store's
// Timeout.
type stream struct {
	body   io.ReadCloser
	cancel context.CancelFunc
	timer  *time.Timer
	off    int64 // offset of the body's next byte
}

func (st *stream) close() {
	st.timer.Stop()
	st.cancel()
	st.body.Close()
}

// get starts a GET from off to the end.
func (r *reader) get(off int64) (*stream, error) {
	ctx, cancel := context.WithCancel(r.ctx)
	var opts minio.GetObjectOptions
	if off > 0 {
		opts.SetRange(off, 0)
	}
	body, _, _, err := r.s.core.GetObject(ctx, r.s.o.Bucket, r.name, opts)
	if err != nil {
		cancel()
		if notFound(err) {
			return nil, fmt.Errorf("s3blob: read %s: %w", r.key, blob.ErrNotFound)
		}
		return nil, r.s.wrap("read "+r.key, err)
	}
	st := &stream{body: body, cancel: cancel, off: off}
	st.timer = time.AfterFunc(time.Hour, cancel)
	st.timer.Stop()
	return st, nil
}

func (r *reader) Size() int64 { return r.size }

func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errors.New("s3blob: read of a closed reader")
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.stream != nil && r.stream.off != r.pos {
		r.stream.close()
		r.stream = nil
	}
	if r.stream == nil {
		st, err := r.get(r.pos)
		if err != nil {
			return 0, err
		}
		r.stream = st
	}
	st := r.stream
	if int64(len(p)) > r.size-r.pos {
		p = p[:r.size-r.pos]
	}
	st.timer.Reset(r.s.o.Timeout)
	n, err := st.body.Read(p)
	st.timer.Stop()
	st.off += int64(n)
	r.pos += int64(n)
	if err == io.EOF {
		st.close()
		r.stream = nil
		if r.pos < r.size {
			return n, fmt.Errorf("s3blob: read %s: response ended at %d of %d bytes: %w", r.key, r.pos, r.size, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	if err != nil {
		st.close()
		r.stream = nil
		return n, r.s.wrap("read "+r.key, err)
	}
	return n, nil
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errors.New("s3blob: seek of a closed reader")
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("s3blob: seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("s3blob: seek to a negative offset")
	}
	r.pos = abs // the stream is replaced on the next Read if it is elsewhere
	return abs, nil
}

// ReadAt makes one ranged GET of the bytes asked for (those before the
// end of the blob).
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("s3blob: ReadAt a negative offset")
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return 0, errors.New("s3blob: read of a closed reader")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	if want == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.s.opTimeout(want))
	defer cancel()
	var opts minio.GetObjectOptions
	opts.SetRange(off, off+want-1)
	body, _, _, err := r.s.core.GetObject(ctx, r.s.o.Bucket, r.name, opts)
	if err != nil {
		if notFound(err) {
			return 0, fmt.Errorf("s3blob: read %s: %w", r.key, blob.ErrNotFound)
		}
		return 0, r.s.wrap("read "+r.key, err)
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:want])
	if err != nil {
		return n, r.s.wrap("read "+r.key, err)
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.stream != nil {
		r.stream.close()
		r.stream = nil
	}
	return nil
}
