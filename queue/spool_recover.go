package queue

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recoverWorkers read message files at once at recovery.
const recoverWorkers = 64

// spoolSmallFile: a message file up to this size is read whole at recovery.
const spoolSmallFile = 1 << 20

// recover finds every live message: those of the segments not marked
// removed and the message files. A torn or corrupted end of a segment is
// copied to corrupt/ and cut off (it was never acknowledged, unless the
// disk corrupted it); a message file without a readable message is moved
// to corrupt/; a file's torn end is cut off. Only a directory that
// cannot be listed is an error.
func (s *spool) recover() ([]*qmsg, error) {
	var (
		segNums []uint64
		jobs    []spoolFileJob
	)
	for _, q := range []string{queueIncoming, queueDeferred, queueHold} {
		dir := filepath.Join(s.dir, q)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("queue spool: %w", err)
		}
		for _, e := range ents {
			name := e.Name()
			switch {
			case strings.HasPrefix(name, spoolTmpPrefix):
				// A message file being written when the process died:
				// never acknowledged.
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					s.log.Warn("queue spool: cannot remove a temporary file", "file", filepath.Join(dir, name), "err", err)
				}
			case q == queueIncoming && strings.HasPrefix(name, "seg-"):
				n, err := strconv.ParseUint(name[4:], 10, 64)
				if err != nil || !e.Type().IsRegular() {
					s.log.Warn("queue spool: unknown file left alone", "file", filepath.Join(dir, name))
					continue
				}
				segNums = append(segNums, n)
			case validQueueID(name) && e.Type().IsRegular():
				jobs = append(jobs, spoolFileJob{queue: q, name: name})
			default:
				s.log.Warn("queue spool: unknown file left alone", "file", filepath.Join(dir, name))
			}
		}
	}
	slices.Sort(segNums)

	byID := map[string]*qmsg{}
	var msgs []*qmsg
	for _, n := range segNums {
		s.nextSeg = max(s.nextSeg, n)
		for _, m := range s.recoverSegment(n) {
			if prev := byID[m.env.ID]; prev != nil {
				// Cannot happen (IDs are unique among live messages);
				// keep the first copy.
				s.log.Warn("queue spool: message found twice in segments; keeping the first", "queue_id", m.env.ID)
				s.dropSegmentCopy(m)
				continue
			}
			byID[m.env.ID] = m
			msgs = append(msgs, m)
		}
	}
	for _, m := range s.recoverFiles(jobs) {
		prev := byID[m.env.ID]
		switch {
		case prev == nil:
			byID[m.env.ID] = m
			msgs = append(msgs, m)
		case prev.seg != nil:
			// A message moved out of its segment by deferTo or move
			// whose removal record did not make it: the file wins.
			s.log.Info("queue spool: message found in a segment and in a file (a move was cut short); the file wins", "queue_id", m.env.ID, "queue", m.queue)
			s.dropSegmentCopy(prev)
			*prev = *m
		default:
			s.log.Error("queue spool: message found in two queues; keeping one", "queue_id", m.env.ID, "kept", prev.queue, "moved_to_corrupt", m.queue)
			s.toCorrupt(m.queue, m.env.ID)
		}
	}
	for _, seg := range s.segs {
		s.maybeDelete(seg)
	}
	for id := range byID {
		s.ids[id] = struct{}{}
		s.noteID(id)
	}
	slices.SortFunc(msgs, func(a, b *qmsg) int {
		if c := a.env.Arrival.Compare(b.env.Arrival); c != 0 {
			return c
		}
		return strings.Compare(a.env.ID, b.env.ID)
	})
	return msgs, nil
}

// dropSegmentCopy marks m removed in its segment.
func (s *spool) dropSegmentCopy(m *qmsg) {
	if err := s.appendLocked(m.seg, markRecord(recRemoved, m.off)); err != nil {
		s.log.Warn("queue spool: cannot mark a duplicate removed", "queue_id", m.env.ID, "err", err)
	}
	m.seg.live--
}

// recoverSegment reads segment n and returns its live messages.
func (s *spool) recoverSegment(n uint64) []*qmsg {
	p := filepath.Join(s.dir, queueIncoming, fmt.Sprintf("seg-%010d", n))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		s.log.Error("queue spool: cannot open a segment; its messages are not delivered", "segment", p, "err", err)
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		s.log.Error("queue spool: cannot stat a segment; its messages are not delivered", "segment", p, "err", err)
		return nil
	}
	seg := &spoolSegment{num: n, path: p, f: f}
	live := map[int64]*qmsg{}
	var order []*qmsg
	good, err := scanRecords(f, fi.Size(), func(r *spoolRecord) error {
		switch r.typ {
		case recMessage:
			m := recoveredMsg(r, queueIncoming)
			m.seg, m.off = seg, r.off
			live[r.off] = m
			order = append(order, m)
		case recOutcome, recWarned:
			if m := live[r.moff]; m != nil {
				spoolApplyMark(m, r)
			}
		case recRemoved:
			delete(live, r.moff)
		}
		return nil
	})
	seg.size = good
	if err != nil {
		if !errors.Is(err, errBadRecord) {
			// A read error: appending after what cannot be read would
			// lose the appended records too.
			s.log.Error("queue spool: cannot read a segment to its end; no more records go into it", "segment", p, "offset", good, "err", err)
			seg.size = fi.Size()
			seg.broken = true
		} else {
			s.salvageTail(seg, fi.Size(), err)
		}
	}
	s.segs[n] = seg
	var out []*qmsg
	for _, m := range order {
		if live[m.off] == m {
			out = append(out, m)
		}
	}
	seg.live = len(out)
	return out
}

// salvageTail copies the unreadable end of seg (from seg.size) to
// corrupt/ and cuts it off, so that records appended later are read.
func (s *spool) salvageTail(seg *spoolSegment, size int64, why error) {
	tail := size - seg.size
	dst := filepath.Join(s.dir, queueCorrupt, fmt.Sprintf("%s.tail-%d", filepath.Base(seg.path), seg.size))
	s.log.Warn("queue spool: segment ends in a torn or corrupted record (a crash while writing, or damage); the rest is copied to corrupt/ and cut off",
		"segment", seg.path, "offset", seg.size, "bytes", tail, "copy", dst, "reason", why)
	if err := spoolCopyRange(dst, seg.f, seg.size, tail); err != nil {
		s.log.Error("queue spool: cannot copy a segment's tail to corrupt/", "segment", seg.path, "err", err)
	}
	if err := seg.f.Truncate(seg.size); err != nil {
		s.log.Error("queue spool: cannot cut off a segment's torn tail; no more records go into it", "segment", seg.path, "err", err)
		seg.size = size
		seg.broken = true
		return
	}
	if err := s.fsync(seg.f); err != nil {
		s.log.Warn("queue spool: fsync", "segment", seg.path, "err", err)
	}
}

// spoolCopyRange writes n bytes of r at off to a new file dst.
func spoolCopyRange(dst string, r io.ReaderAt, off, n int64) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, io.NewSectionReader(r, off, n))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// recoveredMsg is the message of an 'M' record.
func recoveredMsg(r *spoolRecord, queue string) *qmsg {
	n := len(r.env.Recipients)
	return &qmsg{
		env:    r.env,
		done:   make([]bool, n),
		reason: make([]string, n),
		queue:  queue,
		size:   r.csize,
		off:    r.off,
		coff:   r.coff,
	}
}

// spoolApplyMark applies an 'O' or 'W' record to m.
func spoolApplyMark(m *qmsg, r *spoolRecord) {
	switch r.typ {
	case recWarned:
		m.warned = true
	case recOutcome:
		if r.idx >= len(m.done) {
			return
		}
		if r.status == Deferred {
			m.reason[r.idx] = r.reason
		} else {
			m.done[r.idx] = true
		}
	}
}

// spoolFileJob is a message file to recover.
type spoolFileJob struct {
	queue, name string
	m           *qmsg
}

// recoverFiles reads the message files, several at once.
func (s *spool) recoverFiles(jobs []spoolFileJob) []*qmsg {
	var wg sync.WaitGroup
	ch := make(chan int)
	// Opening and reading files mostly waits for the kernel or the
	// disk: more workers than CPUs.
	for range recoverWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := range ch {
				jobs[i].m, buf = s.recoverFile(jobs[i].queue, jobs[i].name, buf)
			}
		}()
	}
	for i := range jobs {
		ch <- i
	}
	close(ch)
	wg.Wait()
	var out []*qmsg
	for _, j := range jobs {
		if j.m != nil {
			out = append(out, j.m)
		}
	}
	return out
}

// recoverFile reads the message file queue/name; buf is a reusable
// buffer. A file without a readable message is moved to corrupt/.
func (s *spool) recoverFile(queue, name string, buf []byte) (*qmsg, []byte) {
	p := filepath.Join(s.dir, queue, name)
	f, err := openNoAtime(p)
	if err != nil {
		s.log.Error("queue spool: cannot open a message file", "file", p, "err", err)
		return nil, buf
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.log.Error("queue spool: cannot stat a message file", "file", p, "err", err)
		return nil, buf
	}
	size := fi.Size()
	var r io.ReaderAt = f
	if size <= spoolSmallFile {
		if int64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		b := buf[:size]
		if _, err := io.ReadFull(f, b); err != nil {
			s.log.Error("queue spool: cannot read a message file", "file", p, "err", err)
			return nil, buf
		}
		r = memFile(b)
	}
	var m *qmsg
	good, err := scanRecords(r, size, func(rec *spoolRecord) error {
		if m == nil {
			if rec.typ != recMessage {
				return badRecord(rec.off, "a message file starts with a %c record", rec.typ)
			}
			if rec.env.ID != name {
				return badRecord(rec.off, "the file of %s holds %s", name, rec.env.ID)
			}
			m = recoveredMsg(rec, queue)
			return nil
		}
		switch rec.typ {
		case recOutcome, recWarned:
			if rec.moff != 0 {
				return badRecord(rec.off, "a record for offset %d in a message file", rec.moff)
			}
			spoolApplyMark(m, rec)
			return nil
		}
		return badRecord(rec.off, "a %c record in a message file", rec.typ)
	})
	if m == nil {
		if err == nil {
			err = errors.New("empty file")
		}
		s.log.Error("queue spool: message file without a readable message moved to corrupt/", "file", p, "err", err)
		s.toCorrupt(queue, name)
		return nil, buf
	}
	if err != nil {
		if !errors.Is(err, errBadRecord) {
			s.log.Error("queue spool: cannot read a message file to its end; its last outcomes may be lost", "file", p, "err", err)
		} else {
			s.log.Warn("queue spool: message file ends in a torn or corrupted record; cut off", "file", p, "offset", good, "bytes", size-good, "reason", err)
			if err := os.Truncate(p, good); err != nil {
				s.log.Error("queue spool: cannot cut off a message file's torn tail", "file", p, "err", err)
			} else if queue == queueDeferred {
				os.Chtimes(p, fi.ModTime(), fi.ModTime())
			}
		}
	}
	if queue == queueDeferred {
		m.next = fi.ModTime()
	}
	return m, buf
}

// toCorrupt moves the file queue/name to corrupt/queue-name.
func (s *spool) toCorrupt(queue, name string) {
	from := filepath.Join(s.dir, queue, name)
	to := filepath.Join(s.dir, queueCorrupt, queue+"-"+name)
	if _, err := os.Lstat(to); err == nil {
		to += "-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	if err := os.Rename(from, to); err != nil {
		s.log.Error("queue spool: cannot move a bad file to corrupt/", "file", from, "err", err)
	}
}
