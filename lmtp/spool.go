package lmtp

import (
	"bytes"
	"io"
	"os"
)

// spool holds one message while it is delivered to each recipient: in
// memory up to a limit, then in an unlinked temporary file.
type spool struct {
	mem   bytes.Buffer
	f     *os.File
	limit int64
	dir   string
	size  int64
}

func newSpool(limit int64, dir string) *spool {
	if limit <= 0 {
		limit = DefaultMaxMemorySpool
	}
	return &spool{limit: limit, dir: dir}
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && s.size+int64(len(p)) > s.limit {
		f, err := os.CreateTemp(s.dir, "yubin-lmtp-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name())
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			return 0, err
		}
		s.mem = bytes.Buffer{}
		s.f = f
	}
	var n int
	var err error
	if s.f != nil {
		n, err = s.f.Write(p)
	} else {
		n, err = s.mem.Write(p)
	}
	s.size += int64(n)
	return n, err
}

// reader returns a fresh reader of the whole content.
func (s *spool) reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem.Bytes())
}

func (s *spool) Close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}
