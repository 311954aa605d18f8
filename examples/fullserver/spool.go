package main

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// A message is read whole before it is delivered (to every final
// address, perhaps over LMTP). Up to spoolMemory bytes it stays in
// memory; a larger one goes to an unlinked file in data_directory/tmp.
// Delivery writes and syncs each copy, so the spool itself need not be
// durable. Keeping small messages off the disk also spares a file
// creation and removal per message.
const spoolMemory = 256 << 10

// spooled is a message read for delivery.
type spooled interface {
	io.ReaderAt
	io.Closer
}

var spoolBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// memSpool is a message held in a pooled buffer.
type memSpool struct {
	buf *bytes.Buffer
	r   *bytes.Reader
}

func (m *memSpool) ReadAt(p []byte, off int64) (int, error) { return m.r.ReadAt(p, off) }

func (m *memSpool) Close() error {
	if m.buf != nil {
		m.buf.Reset()
		spoolBufs.Put(m.buf)
		m.buf = nil
	}
	return nil
}

// spool reads msg and returns it with its size.
func (h *host) spool(msg io.Reader) (spooled, int64, error) {
	buf := spoolBufs.Get().(*bytes.Buffer)
	n, err := io.Copy(buf, io.LimitReader(msg, spoolMemory+1))
	if err != nil {
		buf.Reset()
		spoolBufs.Put(buf)
		return nil, 0, err
	}
	if n <= spoolMemory {
		return &memSpool{buf: buf, r: bytes.NewReader(buf.Bytes())}, n, nil
	}
	f, err := os.CreateTemp(h.spoolDir(), "smtp-")
	if err != nil {
		buf.Reset()
		spoolBufs.Put(buf)
		return nil, 0, err
	}
	os.Remove(f.Name()) // it lives as long as it is open
	_, err = buf.WriteTo(f)
	buf.Reset()
	spoolBufs.Put(buf)
	if err == nil {
		var rest int64
		rest, err = io.Copy(f, msg)
		n += rest
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n, nil
}
