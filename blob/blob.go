package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (possibly wrapped) by Open for a key that is
// not stored.
var ErrNotFound = errors.New("blob: not found")

// Store keeps immutable blobs by key. It is safe for concurrent use.
type Store interface {
	// Put stores size bytes read from r under key and returns when they
	// are durable. Putting a key that is already stored succeeds without
	// changing it (keys name content, so the bytes are the same). It
	// fails, and stores nothing under key, when r yields other than size
	// bytes.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns a reader on the blob stored under key, or an error
	// wrapping ErrNotFound.
	Open(ctx context.Context, key string) (Reader, error)
	// Delete removes the blob stored under key. Deleting a key that is
	// not stored is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every stored blob, in no particular order, until
	// fn returns an error, which List returns.
	List(ctx context.Context, fn func(Info) error) error
}

// Reader reads one stored blob. Seeking and ReadAt let a protocol serve
// partial fetches without reading what comes before.
type Reader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size is the blob's length in bytes.
	Size() int64
}

// Info describes a stored blob for List.
type Info struct {
	Key     string
	Size    int64
	Created time.Time // when the blob was stored, for grace periods
}

// Key returns the content address of b: the lowercase hex SHA-256.
func Key(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ValidKey reports whether key has the form Key returns (64 lowercase hex
// digits), so an implementation can refuse anything that might escape
// its namespace (a path or an object name) before using it.
func ValidKey(key string) bool {
	if len(key) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
