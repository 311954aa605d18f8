package fileblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Put stores size bytes from r under key, durably (see the package
// documentation). A key already stored is left as it is.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	name, err := s.path(key)
	if err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("fileblob: put %s: negative size %d", key, size)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fileblob: put %s: %w", key, err)
	}
	if _, err := os.Lstat(name); err == nil {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), key[:8]+".*")
	if err != nil {
		return fmt.Errorf("fileblob: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = copyExactly(ctx, tmp, r, size)
	if err == nil {
		err = tmp.Chmod(0o400)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fileblob: put %s: %w", key, err)
	}
	dir := filepath.Dir(name)
	if err := os.Mkdir(dir, 0o700); err == nil {
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("fileblob: %w", err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("fileblob: %w", err)
	}
	// Link, not rename: a name that exists (a concurrent Put of the same
	// content) is kept, never replaced.
	if err := os.Link(tmp.Name(), name); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("fileblob: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fileblob: %w", err)
	}
	return nil
}
