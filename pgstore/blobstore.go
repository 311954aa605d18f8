package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/yubinmail/yubin/blob"
)

// chunkSize is the size of one row of pgstore_blob_chunks: large
// enough that a typical message is one row, small enough that a read
// at an offset or a 50 MiB message never holds much in memory.
const chunkSize = 256 << 10

// BlobStore is the default blob.Store: bodies in the tables
// pgstore_blobs (one row per blob: size, creation time) and
// pgstore_blob_chunks (the bytes, in chunks) of the same database as
// the mailboxes, so nothing else has to run. The blob row commits after
// its chunks, in the same transaction, so a blob is either whole or
// absent.
type BlobStore struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	// sameDB: the rows naming these blobs commit in the same database
	// after Put, synchronously. Put may then commit asynchronously: WAL
	// is flushed in order, so the row's commit flushes the blob first,
	// and a crash before it loses only an unreferenced blob.
	sameDB bool
}

var _ blob.Store = (*BlobStore)(nil)

// NewBlobStore returns the blob store kept in pool's database. The
// tables are created by the Backend's migrations (Open or New).
func NewBlobStore(pool *pgxpool.Pool) *BlobStore {
	return &BlobStore{pool: pool, timeout: 2 * time.Minute}
}

// Put implements blob.Store.
func (s *BlobStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if !blob.ValidKey(key) {
		return fmt.Errorf("pgstore: blob key %q invalid", key)
	}
	if size < 0 {
		return fmt.Errorf("pgstore: blob %s: negative size", key)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pgstore_blobs WHERE key = $1)`, key).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if s.sameDB {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		// COPY streams the chunks through one reused buffer, so a large
		// body is never held in memory.
		src := &chunkSource{key: key, r: r, size: size, buf: make([]byte, min(int64(chunkSize), max(size, 1)))}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pgstore_blob_chunks"}, []string{"key", "seq", "data"}, src); err != nil {
			return err
		}
		if src.n != size {
			return fmt.Errorf("pgstore: blob %s: read %d bytes, want %d", key, src.n, size)
		}
		_, err := tx.Exec(ctx, `INSERT INTO pgstore_blobs (key, size) VALUES ($1, $2) ON CONFLICT DO NOTHING`, key, size)
		return err
	})
	if isUniqueViolation(err) {
		// The same key was stored meanwhile by another Put (its chunks
		// and row committed together): the bytes are the same.
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pgstore_blobs WHERE key = $1)`, key).Scan(&exists); err == nil && exists {
			return nil
		}
	}
	return err
}

// chunkSource feeds CopyFrom one chunk row at a time.
type chunkSource struct {
	key  string
	r    io.Reader
	size int64
	n    int64
	seq  int32
	buf  []byte
	cur  []byte
	done bool
	err  error
}

func (c *chunkSource) Next() bool {
	if c.done || c.err != nil {
		return false
	}
	k, err := io.ReadFull(c.r, c.buf)
	c.n += int64(k)
	switch {
	case c.n > c.size:
		c.err = fmt.Errorf("pgstore: blob %s: more than %d bytes", c.key, c.size)
		return false
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		c.done = true
		if k == 0 && c.seq > 0 {
			return false
		}
	case err != nil:
		c.err = err
		return false
	}
	c.cur = c.buf[:k]
	c.seq++
	return true
}

func (c *chunkSource) Values() ([]any, error) { return []any{c.key, c.seq - 1, c.cur}, nil }

func (c *chunkSource) Err() error { return c.err }

// Open implements blob.Store. The reader fetches one chunk at a time.
func (s *BlobStore) Open(ctx context.Context, key string) (blob.Reader, error) {
	if !blob.ValidKey(key) {
		return nil, fmt.Errorf("pgstore: blob key %q: %w", key, blob.ErrNotFound)
	}
	r := &blobReader{s: s, key: key, cached: -1}
	var first []byte
	err := s.pool.QueryRow(ctx, `SELECT b.size, c.data FROM pgstore_blobs b LEFT JOIN pgstore_blob_chunks c ON c.key = b.key AND c.seq = 0
		WHERE b.key = $1`, key).Scan(&r.size, &first)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: blob %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r.chunk, r.cached = first, 0
	return r, nil
}

// Delete implements blob.Store.
func (s *BlobStore) Delete(ctx context.Context, key string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pgstore_blobs WHERE key = $1`, key); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM pgstore_blob_chunks WHERE key = $1`, key)
		return err
	})
}

// List implements blob.Store.
func (s *BlobStore) List(ctx context.Context, fn func(blob.Info) error) error {
	rows, err := s.pool.Query(ctx, `SELECT key, size, created FROM pgstore_blobs`)
	if err != nil {
		return err
	}
	var all []blob.Info
	for rows.Next() {
		var bi blob.Info
		if err := rows.Scan(&bi.Key, &bi.Size, &bi.Created); err != nil {
			rows.Close()
			return err
		}
		all = append(all, bi)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, bi := range all {
		if err := fn(bi); err != nil {
			return err
		}
	}
	return nil
}

// blobReader reads a blob chunk by chunk, keeping the last one read.
type blobReader struct {
	s      *BlobStore
	key    string
	size   int64
	off    int64
	cached int64 // chunk index held in chunk, -1 for none
	chunk  []byte
	closed bool
}

func (r *blobReader) Size() int64 { return r.size }

func (r *blobReader) Close() error { r.closed = true; r.chunk = nil; return nil }

func (r *blobReader) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (r *blobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, fmt.Errorf("pgstore: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("pgstore: seek before start")
	}
	r.off = offset
	return offset, nil
}

func (r *blobReader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, errors.New("pgstore: blob reader closed")
	}
	if off < 0 {
		return 0, errors.New("pgstore: negative offset")
	}
	n := 0
	for n < len(p) {
		if off >= r.size {
			return n, io.EOF
		}
		idx := off / chunkSize
		if idx != r.cached {
			ctx, cancel := context.WithTimeout(context.Background(), r.s.timeout)
			err := r.s.pool.QueryRow(ctx, `SELECT data FROM pgstore_blob_chunks WHERE key = $1 AND seq = $2`, r.key, int32(idx)).Scan(&r.chunk)
			cancel()
			if errors.Is(err, pgx.ErrNoRows) {
				return n, fmt.Errorf("pgstore: blob %s: chunk %d missing", r.key, idx)
			}
			if err != nil {
				return n, err
			}
			r.cached = idx
		}
		in := off - idx*chunkSize
		if in >= int64(len(r.chunk)) {
			return n, io.ErrUnexpectedEOF
		}
		k := copy(p[n:], r.chunk[in:])
		n += k
		off += int64(k)
	}
	return n, nil
}
