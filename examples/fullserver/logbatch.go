package main

import (
	"io"
	"sync"
	"time"
)

// logBatchDelay is how long a log line may wait for others before it is
// written: at a thousand messages a second the host logs seven lines
// per message, and one write(2) each was about 5% of its CPU. Postfix's
// lines also reach the log file a little later than they are made
// (syslog, postlogd).
const logBatchDelay = 5 * time.Millisecond

// logBatchMax is the most a batch holds before it is written at once.
const logBatchMax = 64 << 10

// batchWriter gathers log lines and writes them in batches: the first
// line of a batch starts a timer of logBatchDelay, and lines written
// meanwhile join it. Each Write is one whole line (slog's handlers write
// one record per call), so a batch never splits a line. Flush writes
// what is pending at once: before the log file is re-opened, at the end,
// and after a line at error level (maillogHandler calls it, so that an
// error is on disk before whatever follows it).
type batchWriter struct {
	w     io.Writer
	delay time.Duration

	mu      sync.Mutex
	buf     []byte
	spare   []byte
	armed   bool // the timer is set for the current batch
	timer   *time.Timer
	writeMu sync.Mutex // one write to w at a time, in order
}

func newBatchWriter(w io.Writer, delay time.Duration) *batchWriter {
	b := &batchWriter{w: w, delay: delay}
	b.timer = time.AfterFunc(time.Hour, func() { b.Flush() })
	b.timer.Stop()
	return b
}

// Write queues p (one log line) and always succeeds; a failed write of
// a batch is lost as a failed write of a line was.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= logBatchMax
	if !full && !b.armed {
		b.armed = true
		b.timer.Reset(b.delay)
	}
	b.mu.Unlock()
	if full {
		b.Flush()
	}
	return len(p), nil
}

// Flush writes every pending line now.
func (b *batchWriter) Flush() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	out := b.buf
	b.buf = b.spare[:0]
	b.spare = nil
	if b.armed {
		b.armed = false
		b.timer.Stop()
	}
	b.mu.Unlock()
	if len(out) == 0 {
		b.mu.Lock()
		if b.spare == nil {
			b.spare = out
		}
		b.mu.Unlock()
		return nil
	}
	_, err := b.w.Write(out)
	if cap(out) <= 4*logBatchMax {
		b.mu.Lock()
		b.spare = out[:0]
		b.mu.Unlock()
	}
	return err
}

// flushLog writes the pending log lines, if lines are gathered.
func (rs *reloadState) flushLog() {
	if rs.logb != nil {
		rs.logb.Flush()
	}
}
