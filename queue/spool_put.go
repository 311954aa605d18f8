package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// bodyBufs recycles put's record buffers.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// put reads body (the content, CRLF line endings) and stores env and
// body durably: it returns only after the fsync that covers them. It sets
// env.ID when empty and env.Arrival when zero. A message with env.Hold
// goes to hold/, a large one to its own file in incoming/, any other is
// appended to the current segment; concurrent puts to segments share one
// fdatasync per batch (group commit). When ctx ends before the commit,
// put returns ctx's error and the message is not stored. Any write error
// (a full disk) is returned and leaves nothing that recovery would take
// for a message.
func (s *spool) put(ctx context.Context, env *Envelope, body io.Reader) (*qmsg, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	closed := s.closed
	s.wmu.Unlock()
	if closed {
		return nil, errSpoolClosed
	}
	if env.Arrival.IsZero() {
		env.Arrival = time.Now()
	}
	if err := s.claimID(env); err != nil {
		return nil, err
	}
	m, err := s.put1(ctx, env, body)
	if err != nil {
		s.idmu.Lock()
		delete(s.ids, env.ID)
		s.idmu.Unlock()
		return nil, err
	}
	return m, nil
}

func (s *spool) put1(ctx context.Context, env *Envelope, body io.Reader) (*qmsg, error) {
	envb, err := encodeSpoolEnvelope(env)
	if err != nil {
		return nil, fmt.Errorf("queue spool: %w", err)
	}
	m := &qmsg{
		env:    env,
		done:   make([]bool, len(env.Recipients)),
		reason: make([]string, len(env.Recipients)),
		queue:  queueIncoming,
	}
	if env.Hold {
		m.queue = queueHold
		if err := s.writeFile(ctx, m, envb, body); err != nil {
			return nil, err
		}
		return m, nil
	}

	// The record is built in one buffer: header, envelope, content up to
	// the large-message limit.
	buf := bodyBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 2*int(s.large)+64<<10 {
			buf.Reset()
			bodyBufs.Put(buf)
		}
	}()
	buf.Reset()
	var hdr [recHdrSize]byte
	buf.Write(hdr[:])
	var lb [binary.MaxVarintLen64]byte
	buf.Write(lb[:binary.PutUvarint(lb[:], uint64(len(envb)))])
	buf.Write(envb)
	ehead := buf.Len()
	if _, err := io.CopyN(buf, body, s.large+1); err != nil && err != io.EOF {
		return nil, fmt.Errorf("queue spool: reading the message: %w", err)
	}
	if int64(buf.Len()-ehead) > s.large {
		// Too large for a segment: its own file, streaming the rest.
		rest := io.MultiReader(bytes.NewReader(buf.Bytes()[ehead:]), body)
		if err := s.writeFile(ctx, m, envb, rest); err != nil {
			return nil, err
		}
		return m, nil
	}
	rec := buf.Bytes()
	n := uint32(len(rec) - recHdrSize)
	h := recordHeader(recMessage, n, recordCRCEnd(crc32.Update(0, castagnoli, rec[recHdrSize:]), recMessage, n))
	copy(rec, h[:])
	m.size = int64(len(rec) - ehead)

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return nil, errSpoolClosed
	}
	if s.cur == nil || s.cur.broken || (s.cur.size > 0 && s.cur.size+int64(len(rec)) > s.segMax) {
		if err := s.roll(); err != nil {
			s.wmu.Unlock()
			return nil, err
		}
	}
	seg := s.cur
	off := seg.size
	if err := s.appendLocked(seg, rec); err != nil {
		s.wmu.Unlock()
		return nil, err
	}
	seg.live++
	s.written++
	seq := s.written
	if len(s.dirty) == 0 || s.dirty[len(s.dirty)-1] != seg {
		s.dirty = append(s.dirty, seg)
	}
	s.wmu.Unlock()

	m.seg, m.off, m.coff = seg, off, off+int64(ehead)
	if err := s.commit(ctx, seq); err != nil {
		// Not acknowledged: make sure it is not delivered either (unless
		// a power loss takes this unsynced removal away).
		s.wmu.Lock()
		if s.appendLocked(seg, markRecord(recRemoved, off)) != nil {
			s.log.Error("queue spool: cannot mark an unacknowledged message removed; it may be delivered", "queue_id", env.ID)
		}
		seg.live--
		s.maybeDelete(seg)
		s.wmu.Unlock()
		return nil, err
	}
	return m, nil
}

// commit returns when put record seq is durable: it waits for the
// running commit, or runs one itself (for every record written so far).
func (s *spool) commit(ctx context.Context, seq uint64) error {
	for {
		s.smu.Lock()
		for _, r := range s.failed {
			if r[0] < seq && seq <= r[1] {
				s.smu.Unlock()
				return errSyncFailed
			}
		}
		if s.synced >= seq {
			s.smu.Unlock()
			return nil
		}
		if ch := s.syncing; ch != nil {
			s.smu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ch := make(chan struct{})
		s.syncing = ch
		s.smu.Unlock()

		s.wmu.Lock()
		target, dirty := s.written, s.dirty
		s.dirty = nil
		s.wmu.Unlock()
		var err error
		if s.syncHook != nil {
			err = s.syncHook()
		}
		for _, seg := range dirty {
			if err != nil {
				break
			}
			if e := s.datasync(seg.f); e != nil && !errors.Is(e, os.ErrClosed) {
				err = e
			}
		}
		var upto uint64
		if err != nil {
			// After a failed fdatasync Linux may have dropped the dirty
			// pages of these files and reports success next time: every
			// record written to them so far fails, and nothing more goes
			// into them.
			s.log.Error("queue spool: fdatasync failed; the puts it covered fail", "err", err)
			s.wmu.Lock()
			for _, seg := range dirty {
				seg.broken = true
			}
			upto = s.written
			s.wmu.Unlock()
		}

		s.smu.Lock()
		s.syncing = nil
		if err == nil {
			s.synced = max(s.synced, target)
		} else {
			s.failed = append(s.failed, [2]uint64{s.synced, upto})
		}
		close(ch)
		s.smu.Unlock()
	}
}

// appendLocked writes rec at the end of seg (s.wmu held); a failed write
// is cut off again so that later records stay readable.
func (s *spool) appendLocked(seg *spoolSegment, rec []byte) error {
	if s.closed || seg.gone {
		return errSpoolClosed
	}
	if _, err := seg.f.WriteAt(rec, seg.size); err != nil {
		if terr := seg.f.Truncate(seg.size); terr != nil {
			seg.broken = true
			s.log.Error("queue spool: cannot undo a failed write; records after it are lost at recovery", "segment", seg.path, "err", terr)
		}
		return fmt.Errorf("queue spool: %w", err)
	}
	seg.size += int64(len(rec))
	return nil
}

// roll starts a new current segment (s.wmu held). The directory is
// fsynced so that the new file is there after a power loss.
func (s *spool) roll() error {
	s.nextSeg++
	num := s.nextSeg
	p := filepath.Join(s.dir, queueIncoming, fmt.Sprintf("seg-%010d", num))
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	if err := s.syncDir(filepath.Join(s.dir, queueIncoming)); err != nil {
		f.Close()
		os.Remove(p)
		return err
	}
	seg := &spoolSegment{num: num, path: p, f: f}
	s.segs[num] = seg
	old := s.cur
	s.cur = seg
	if old != nil {
		s.maybeDelete(old)
	}
	return nil
}

// maybeDelete deletes seg when no message in it is live, nobody reads it
// and it is not the current segment (s.wmu held).
func (s *spool) maybeDelete(seg *spoolSegment) {
	if seg.gone || seg == s.cur || seg.live > 0 || seg.readers > 0 || s.closed {
		return
	}
	if err := s.deleteSegment(seg); err != nil {
		s.log.Error("queue spool: cannot delete a used segment", "segment", seg.path, "err", err)
	}
}

func (s *spool) deleteSegment(seg *spoolSegment) error {
	seg.gone = true
	delete(s.segs, seg.num)
	seg.f.Close()
	if err := os.Remove(seg.path); err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	return nil
}

// datasync makes f's data durable (fdatasync where there is one).
func (s *spool) datasync(f *os.File) error {
	s.fsyncs.Add(1)
	if s.noSync {
		return nil
	}
	return fdatasync(f)
}

// fsync makes f's data and metadata (the mtime) durable.
func (s *spool) fsync(f *os.File) error {
	s.fsyncs.Add(1)
	if s.noSync {
		return nil
	}
	return f.Sync()
}
