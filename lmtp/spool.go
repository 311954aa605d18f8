package lmtp

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// spoolBufs recycles the memory of spools: a message of 100 KiB would
// otherwise allocate (and leave for the collector) about twice that.
var spoolBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// spool holds one message while it is delivered to each recipient: in
// memory up to a limit, then in an unlinked temporary file.
type spool struct {
	mem   *bytes.Buffer
	f     *os.File
	limit int64
	dir   string
	size  int64
}

func newSpool(limit int64, dir string) *spool {
	if limit <= 0 {
		limit = DefaultMaxMemorySpool
	}
	return &spool{limit: limit, dir: dir, mem: spoolBufs.Get().(*bytes.Buffer)}
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
		s.release()
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

// release gives the memory back to the pool.
func (s *spool) release() {
	if s.mem != nil {
		s.mem.Reset()
		spoolBufs.Put(s.mem)
		s.mem = nil
	}
}

func (s *spool) Close() error {
	s.release()
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}
