package fileblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/yubinmail/yubin/blob"
)

// Store is a blob.Store in a directory. It is safe for concurrent use,
// also by several processes on the same directory.
type Store struct {
	dir string
}

var _ blob.Store = (*Store)(nil)

// tmpMaxAge is how old a file in DIR/tmp must be before New removes it
// as left over by a crash.
const tmpMaxAge = time.Hour

// New returns a Store in dir, creating dir (mode 0700) and its tmp
// directory when missing, and removes files in tmp older than an hour.
func New(dir string) (*Store, error) {
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("fileblob: %w", err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("fileblob: %w", err)
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > tmpMaxAge {
			os.Remove(filepath.Join(dir, "tmp", e.Name()))
		}
	}
	return &Store{dir: dir}, nil
}

// path returns the file name of key, or an error for an invalid key.
func (s *Store) path(key string) (string, error) {
	if !blob.ValidKey(key) {
		return "", fmt.Errorf("fileblob: invalid key %q", key)
	}
	return filepath.Join(s.dir, key[:2], key), nil
}

// Open returns a reader on the blob stored under key: the open file.
func (s *Store) Open(ctx context.Context, key string) (blob.Reader, error) {
	name, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fileblob: open %s: %w", key, err)
	}
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fileblob: open %s: %w", key, blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("fileblob: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fileblob: %w", err)
	}
	return &reader{File: f, size: fi.Size()}, nil
}

// reader is an open blob file.
type reader struct {
	*os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }

// Delete removes the blob stored under key.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fileblob: delete %s: %w", key, err)
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fileblob: %w", err)
	}
	return nil
}

// List calls fn for every stored blob, one fan-out directory at a time,
// checking ctx between directories.
func (s *Store) List(ctx context.Context, fn func(blob.Info) error) error {
	subs, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("fileblob: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue // tmp, and anything not ours
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fileblob: list: %w", err)
		}
		ents, err := os.ReadDir(filepath.Join(s.dir, sub.Name()))
		if err != nil {
			return fmt.Errorf("fileblob: %w", err)
		}
		for _, e := range ents {
			key := e.Name()
			if !blob.ValidKey(key) || key[:2] != sub.Name() || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			if err != nil {
				return fmt.Errorf("fileblob: %w", err)
			}
			if err := fn(blob.Info{Key: key, Size: fi.Size(), Created: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// syncDir fsyncs directory dir, making the names in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// copyExactly copies exactly size bytes from r to w, checking ctx
// between reads, and fails when r yields fewer or more.
func copyExactly(ctx context.Context, w io.Writer, r io.Reader, size int64) error {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Ask for one byte more than remains, to see a long reader.
		want := min(int64(len(buf)), size-n+1)
		k, err := r.Read(buf[:want])
		if n+int64(k) > size {
			return fmt.Errorf("reader yields more than the %d bytes announced", size)
		}
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			if n < size {
				return fmt.Errorf("reader yields %d bytes, not the %d announced: %w", n, size, io.ErrUnexpectedEOF)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}
