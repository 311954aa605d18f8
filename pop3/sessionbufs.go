package pop3

import (
	"bufio"
	"sync"
)

// sessionBufs are a session's command reader and reply writer, reused
// by later sessions through sessionBufPool: a POP3 client typically
// connects, downloads and quits, and a fresh 32 KiB writer per
// connection was most of a session's allocation.
type sessionBufs struct {
	r *bufio.Reader
	w *bufio.Writer
}

var sessionBufPool = sync.Pool{New: func() any {
	return &sessionBufs{r: bufio.NewReaderSize(nil, 4096), w: bufio.NewWriterSize(nil, 32<<10)}
}}

// getSessionBufs returns a reader and a writer to Reset onto the
// connection.
func getSessionBufs() *sessionBufs { return sessionBufPool.Get().(*sessionBufs) }

// put gives a closed session's reader and writer back, holding nothing
// of the connection.
func (b *sessionBufs) put() {
	b.r.Reset(nil)
	b.w.Reset(nil)
	sessionBufPool.Put(b)
}
