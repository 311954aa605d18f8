package queue

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// spoolTmpPrefix starts the names of files being written; recovery removes
// them.
const spoolTmpPrefix = ".tmp-"

// writeFile stores m durably as its own file in m.queue: its envelope
// (envb), content, per-recipient state so far and warning, with m.next as
// the mtime when set. It writes a temporary file, fsyncs it, renames it
// into place and fsyncs the directory. It sets m.size, m.coff and m.off.
// When ctx ends before the rename, nothing is stored.
func (s *spool) writeFile(ctx context.Context, m *qmsg, envb []byte, content io.Reader) error {
	dir := filepath.Join(s.dir, m.queue)
	f, err := os.CreateTemp(dir, spoolTmpPrefix+m.env.ID+"-")
	if err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	tmp := f.Name()
	size, coff, err := s.writeFile1(ctx, f, m, envb, content)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("queue spool: %w", cerr)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		if err = os.Rename(tmp, filepath.Join(dir, m.env.ID)); err != nil {
			err = fmt.Errorf("queue spool: %w", err)
		}
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := s.syncDir(dir); err != nil {
		// It is in place but maybe not durable: not acknowledged, and
		// not to be delivered either.
		os.Remove(filepath.Join(dir, m.env.ID))
		return err
	}
	m.size, m.coff, m.off = size, coff, 0
	return nil
}

func (s *spool) writeFile1(ctx context.Context, f *os.File, m *qmsg, envb []byte, content io.Reader) (size, coff int64, err error) {
	w := bufio.NewWriterSize(f, 64<<10)
	var hdr [recHdrSize]byte
	w.Write(hdr[:])
	var lb [binary.MaxVarintLen64]byte
	head := lb[:binary.PutUvarint(lb[:], uint64(len(envb)))]
	w.Write(head)
	w.Write(envb)
	coff = int64(recHdrSize + len(head) + len(envb))
	// The content is streamed; the CRC goes into the header at the end.
	cw := &crcWriter{w: w, crc: crc32.Update(crc32.Update(0, castagnoli, head), castagnoli, envb)}
	size, err = io.Copy(cw, io.LimitReader(content, maxContentBytes+1))
	if err != nil {
		return 0, 0, fmt.Errorf("queue spool: %w", err)
	}
	if size > maxContentBytes {
		return 0, 0, fmt.Errorf("queue spool: message over %d bytes", int64(maxContentBytes))
	}
	n := uint32(int64(len(head)+len(envb)) + size)
	crc := recordCRCEnd(cw.crc, recMessage, n)
	for i := range m.reason {
		if m.reason[i] != "" {
			w.Write(outcomeRecord(0, i, Deferred, m.reason[i]))
		}
		if m.done[i] {
			w.Write(outcomeRecord(0, i, Sent, ""))
		}
	}
	if m.warned {
		w.Write(markRecord(recWarned, 0))
	}
	if err := w.Flush(); err != nil {
		return 0, 0, fmt.Errorf("queue spool: %w", err)
	}
	h := recordHeader(recMessage, n, crc)
	if _, err := f.WriteAt(h[:], 0); err != nil {
		return 0, 0, fmt.Errorf("queue spool: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if !m.next.IsZero() {
		if err := os.Chtimes(f.Name(), m.next, m.next); err != nil {
			return 0, 0, fmt.Errorf("queue spool: %w", err)
		}
	}
	if err := s.fsync(f); err != nil {
		return 0, 0, fmt.Errorf("queue spool: %w", err)
	}
	return size, coff, nil
}

// crcWriter passes writes on and updates crc with them.
type crcWriter struct {
	w   io.Writer
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	return n, err
}

// deferTo makes m a deferred message retried at next. A message in a
// segment is first written to deferred/ID as its own file (durably) and
// then marked removed in its segment (without fsync: if that record is
// lost, recovery finds both copies and keeps the file); the next attempt
// is the file's mtime, as in Postfix (a zero next means now).
func (s *spool) deferTo(m *qmsg, next time.Time) error {
	if next.IsZero() {
		next = time.Now()
	}
	return s.moveTo(m, queueDeferred, next)
}

// move moves m to the hold queue ("hold", postsuper -h) or releases it
// from there ("deferred", to be tried now).
func (s *spool) move(m *qmsg, queue string) error {
	switch queue {
	case queueHold:
		return s.moveTo(m, queueHold, time.Time{})
	case queueDeferred:
		return s.moveTo(m, queueDeferred, time.Now())
	}
	return fmt.Errorf("queue spool: cannot move a message to %q", queue)
}

// moveTo makes m a message file in queue with mtime next (when set).
func (s *spool) moveTo(m *qmsg, queue string, next time.Time) error {
	if seg := m.seg; seg != nil {
		return s.materialize(m, queue, next)
	}
	from := s.path(m)
	if m.queue == queue {
		if !next.IsZero() {
			if err := os.Chtimes(from, next, next); err != nil {
				return fmt.Errorf("queue spool: %w", err)
			}
		}
		m.next = next
		return nil
	}
	to := filepath.Join(s.dir, queue, m.env.ID)
	if !next.IsZero() {
		if err := os.Chtimes(from, next, next); err != nil {
			return fmt.Errorf("queue spool: %w", err)
		}
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	old := m.queue
	m.queue, m.next = queue, next
	// The name moved: make both directories durable (a power loss must
	// not leave it in the old one only, with the old mtime).
	err := s.syncDir(filepath.Join(s.dir, queue))
	if err2 := s.syncDir(filepath.Join(s.dir, old)); err == nil {
		err = err2
	}
	return err
}

// materialize writes m, now in a segment, as its own file in queue and
// then marks it removed in its segment.
func (s *spool) materialize(m *qmsg, queue string, next time.Time) error {
	envb, err := encodeSpoolEnvelope(m.env)
	if err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	seg := m.seg
	r, err := s.open(m)
	if err != nil {
		return err
	}
	n := &qmsg{env: m.env, done: m.done, reason: m.reason, queue: queue, next: next, warned: m.warned}
	err = s.writeFile(context.Background(), n, envb, r)
	r.Close()
	if err != nil {
		return err
	}
	if n.size != m.size {
		// Cannot happen unless the segment changed under us.
		os.Remove(s.path(n))
		return errors.New("queue spool: segment content changed while copying")
	}
	s.wmu.Lock()
	if err := s.appendLocked(seg, markRecord(recRemoved, m.off)); err != nil {
		// The file wins over the segment's copy at recovery.
		s.log.Warn("queue spool: cannot mark a message moved out of its segment", "queue_id", m.env.ID, "err", err)
	}
	seg.live--
	s.maybeDelete(seg)
	s.wmu.Unlock()
	m.seg, m.off, m.coff, m.queue, m.next = nil, 0, n.coff, queue, next
	return nil
}
