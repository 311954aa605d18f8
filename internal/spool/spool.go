// Package spool holds one message while it is delivered, perhaps several
// times: in memory up to a limit, then in an unlinked temporary file. The
// lmtp server spools DATA and BDAT content in it before delivering to
// each recipient; examples/fullserver spools accepted SMTP mail before
// delivering each copy.
package spool

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// bufs recycles the memory of spools: a message of 100 KiB would
// otherwise allocate (and leave for the collector) about twice that.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Spool is a message being collected (Write) and read back (Reader).
type Spool struct {
	mem   *bytes.Buffer
	f     *os.File
	limit int64
	dir   string
	size  int64
}

// New returns a Spool that keeps up to limit bytes in memory and moves
// to an unlinked file in dir (os.TempDir() when "") beyond that.
func New(limit int64, dir string) *Spool {
	return &Spool{limit: limit, dir: dir, mem: bufs.Get().(*bytes.Buffer)}
}

// Write appends p to the message.
func (s *Spool) Write(p []byte) (int, error) {
	if s.f == nil && s.size+int64(len(p)) > s.limit {
		f, err := os.CreateTemp(s.dir, "yubin-spool-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name()) // it lives as long as it is open
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

// Size is the number of bytes written.
func (s *Spool) Size() int64 { return s.size }

// Reader returns a fresh reader of the whole content.
func (s *Spool) Reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.size)
	}
	return bytes.NewReader(s.mem.Bytes())
}

// release gives the memory back to the pool.
func (s *Spool) release() {
	if s.mem != nil {
		s.mem.Reset()
		bufs.Put(s.mem)
		s.mem = nil
	}
}

// Close frees the memory or removes the file. Readers must be done.
func (s *Spool) Close() error {
	s.release()
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}
