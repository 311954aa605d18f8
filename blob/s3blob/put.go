package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/minio/minio-go/v7"
)

// Put stores size bytes from r under key. It asks first whether the
// object exists (a HEAD) and returns at once when it does; otherwise it
// uploads the bytes in one PUT (never multipart, so the object appears
// whole or not at all), and returns when the server acknowledged it.
// A CRC32C trailer covers the body, and over plain HTTP every 64 KiB
// chunk is also signed with its SHA-256 (streaming signature): a body
// damaged on the way is refused by the server.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if size < 0 || size > s.o.MaxSize {
		return fmt.Errorf("s3blob: put %s: size %d outside 0..%d", key, size, s.o.MaxSize)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: put %s: %w", key, err)
	}
	head, cancel := context.WithTimeout(ctx, s.o.Timeout)
	_, err = s.client.StatObject(head, s.o.Bucket, name, minio.StatObjectOptions{})
	cancel()
	if err == nil {
		return nil
	}
	if !notFound(err) {
		return s.wrap("put "+key, err)
	}
	er := &exactReader{r: r, left: size, size: size}
	defer er.close()
	if size == 0 {
		// Nothing is read for an empty body: see now whether r has more.
		if _, err := er.Read(nil); err != io.EOF {
			return fmt.Errorf("s3blob: put %s: %w", key, err)
		}
	}
	ctx, cancel = context.WithTimeout(ctx, s.opTimeout(size))
	defer cancel()
	_, err = s.client.PutObject(ctx, s.o.Bucket, name, er, size, minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		DisableMultipart: true,
		// A CRC32C of the body sent after it (a trailer): the server
		// refuses a body damaged on the way, over HTTPS too, where the
		// body itself is not signed.
		Checksum: minio.ChecksumCRC32C,
	})
	if rerr := er.failure(); rerr != nil {
		// The reader's fault, whatever the request reported.
		return fmt.Errorf("s3blob: put %s: %w", key, rerr)
	}
	if err != nil {
		return s.wrap("put "+key, err)
	}
	return nil
}

// errTooLong is exactReader's error for a reader with more than size
// bytes.
var errTooLong = errors.New("reader yields more bytes than the size announced")

// exactReader yields exactly size bytes of r, or fails: it holds back
// the last bytes until r has said EOF, so a reader with more than size
// bytes fails the upload before the server has the whole body. After
// close it no longer reads r, and close waits for a Read in progress: an
// HTTP transport may still be reading the body after the request
// returned, and the caller's reader must be left alone once Put has.
type exactReader struct {
	mu     sync.Mutex
	r      io.Reader
	size   int64
	left   int64
	err    error // the reader's failure, sticky
	closed bool
}

func (e *exactReader) Read(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return 0, errors.New("s3blob: body read after the request ended")
	}
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		return 0, e.checkEOF()
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		e.err = fmt.Errorf("reader yields %d bytes, not the %d announced: %w", e.size-e.left, e.size, io.ErrUnexpectedEOF)
		return 0, e.err
	case err != nil && err != io.EOF:
		e.err = err
		return 0, err
	case e.left == 0 && err == nil:
		if err := e.checkEOF(); err != io.EOF {
			return 0, err
		}
	}
	if e.left == 0 {
		return n, io.EOF
	}
	return n, nil
}

// checkEOF reads r until it yields a byte (errTooLong) or an error
// (io.EOF when it ended where it should).
func (e *exactReader) checkEOF() error {
	var one [1]byte
	for range 100 {
		k, err := e.r.Read(one[:])
		if k > 0 {
			e.err = errTooLong
			return e.err
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			e.err = err
			return err
		}
	}
	e.err = io.ErrNoProgress
	return e.err
}

// failure returns the reader's error, if it failed.
func (e *exactReader) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func (e *exactReader) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
}
