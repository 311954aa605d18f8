package pgstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/yubinmail/yubin/store"
)

// spooled is a message body read once from its source: kept in memory
// when small, in an unlinked temporary file otherwise, with its content
// key (blob.Key), its stored size and its RFC822.SIZE.
type spooled struct {
	key      string
	size     int64 // bytes as stored
	crlfSize int64 // with bare LF counted as CRLF
	mem      []byte
	file     *os.File
}

// spool reads r to EOF. A body over maxSize (0: no limit) fails with
// store.ErrTooBig after reading at most maxSize+1 bytes.
func spool(r io.Reader, memLimit, maxSize int64, dir string) (*spooled, error) {
	h := sha256.New()
	sp := &spooled{}
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	prevCR := false
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			p := chunk[:n]
			h.Write(p)
			sp.size += int64(n)
			sp.crlfSize += int64(n)
			for i, c := range p {
				if c == '\n' && !(i == 0 && prevCR || i > 0 && p[i-1] == '\r') {
					sp.crlfSize++
				}
			}
			prevCR = p[n-1] == '\r'
			if maxSize > 0 && sp.crlfSize > maxSize {
				sp.Close()
				return nil, fmt.Errorf("pgstore: message over %d bytes: %w", maxSize, store.ErrTooBig)
			}
			if sp.file == nil && int64(buf.Len()+n) > memLimit {
				f, ferr := os.CreateTemp(dir, "pgstore-spool-")
				if ferr != nil {
					return nil, fmt.Errorf("pgstore: spool: %w: %w", store.ErrTemporary, ferr)
				}
				os.Remove(f.Name())
				sp.file = f
				if _, werr := f.Write(buf.Bytes()); werr != nil {
					sp.Close()
					return nil, fmt.Errorf("pgstore: spool: %w: %w", store.ErrTemporary, werr)
				}
				buf = bytes.Buffer{}
			}
			if sp.file != nil {
				if _, werr := sp.file.Write(p); werr != nil {
					sp.Close()
					return nil, fmt.Errorf("pgstore: spool: %w: %w", store.ErrTemporary, werr)
				}
			} else {
				buf.Write(p)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			sp.Close()
			return nil, err
		}
	}
	sp.mem = buf.Bytes()
	sp.key = hex.EncodeToString(h.Sum(nil))
	return sp, nil
}

// reader returns a reader from the body's start.
func (sp *spooled) reader() (io.Reader, error) {
	if sp.file == nil {
		return bytes.NewReader(sp.mem), nil
	}
	if _, err := sp.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return sp.file, nil
}

// Close releases the temporary file.
func (sp *spooled) Close() error {
	if sp.file != nil {
		sp.file.Close()
		sp.file = nil
	}
	return nil
}

// readerAt returns the body as an io.ReaderAt.
func (sp *spooled) readerAt() io.ReaderAt {
	if sp.file != nil {
		return sp.file
	}
	return bytes.NewReader(sp.mem)
}
