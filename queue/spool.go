package queue

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// The spool is the queue's durable storage, laid out in the queue
// directory as
//
//	incoming/seg-0000000001  segments: messages appended by put, with their
//	                         outcome and removal records, one fsync per batch
//	incoming/<ID>            a large message (over LargeBytes) in its own file
//	deferred/<ID>            a deferred message in its own file; its mtime is
//	                         the next attempt, as in Postfix
//	hold/<ID>                a held message in its own file
//	corrupt/                 what recovery could not read, for the operator
//	lock                     flock'ed while a spool is open
//
// Every file is a sequence of records (spool_codec.go). Durability:
// a put returns after the fdatasync that covers its record (group
// commit: one fdatasync for every put written while the previous one
// ran); a message file is written to a temporary name, fsynced, renamed
// and its directory fsynced. Outcome, warning and removal records are
// appended without fsync: they survive the death of the process (they
// are in the page cache) but after a power loss a recipient may be
// tried again and a removed message may come back (at-least-once).
//
// Implementation notes:
//
//   - Group commit: put builds its whole record in memory (at most
//     LargeBytes of content; larger messages stream to their own file),
//     appends it under wmu (one writer at a time, a pwrite at the end of
//     the current segment) and then waits in commit: the first waiter
//     becomes the committer, takes every segment written since the last
//     commit and fdatasyncs it once; the others wait for that commit, or
//     for the next one when theirs came too late for it.
//   - A failed write is cut off again (ftruncate) so that later records
//     stay readable; a failed fdatasync fails every put it covered and
//     retires its segments (after such a failure Linux may have dropped
//     the dirty pages, so nothing more is trusted to them).
//   - Recovery reads each segment up to its first bad record. Because a
//     record is acknowledged only after an fdatasync that covers every
//     record before it, a crash can only tear the part after the last
//     commit; that part is copied to corrupt/ and cut off. A damaged
//     record in the middle (disk corruption) also ends the segment's
//     readable part: the spool does not search for the next record,
//     since message content could carry bytes that look like one.
//   - Message IDs are unique among live messages (the spool keeps their
//     set); a message found both in a segment and in a file (a deferTo
//     or move whose removal record was lost) is kept as the file.
//   - A full disk fails put, record, deferTo, move and markWarned with
//     ENOSPC; remove of a segment message still succeeds in memory (its
//     segment is deleted when its last message goes).

// Queue names as the spool keeps them.
const (
	queueIncoming = "incoming"
	queueDeferred = "deferred"
	queueHold     = "hold"
	queueCorrupt  = "corrupt"
)

// spoolOptions configure a spool.
type spoolOptions struct {
	// Dir is the queue directory; created if missing.
	Dir string
	// Logger logs recovery problems; nil discards.
	Logger *slog.Logger
	// SegmentBytes rolls the incoming segment after this many bytes;
	// 0 means 16 MiB.
	SegmentBytes int64
	// LargeBytes: a message whose content is larger goes to its own file
	// in incoming/ instead of a segment, so that put never holds more
	// than this much of a body in memory; 0 means 1 MiB, at most 64 MiB.
	LargeBytes int64
	// NoSync skips every fsync and fdatasync. FOR TESTS AND BENCHMARKS
	// ONLY: with it, an acknowledged message is lost when the machine
	// stops (it still survives the death of the process).
	NoSync bool
}

// qmsg is a queued message as the spool and the scheduler know it. The
// scheduler owns the mutable fields' synchronisation: the spool is called
// for one qmsg by one goroutine at a time (but for different qmsgs
// concurrently).
type qmsg struct {
	env    *Envelope // as queued (ID, Arrival set)
	done   []bool    // per recipient: final outcome (sent/bounced) recorded
	reason []string  // per recipient: the last deferral reason, "" when none
	queue  string    // "incoming", "deferred", "hold"
	size   int64     // content bytes
	next   time.Time // deferred: the next attempt (the file's mtime)
	warned bool      // a delay warning was sent

	// Where it is: in segment seg with its 'M' record at off, or (seg
	// nil) in the file <dir>/<queue>/<ID>; its content starts at coff.
	seg  *spoolSegment
	off  int64
	coff int64
}

// spool is the queue's durable storage. See the comment above spoolOptions.
type spool struct {
	dir    string
	log    *slog.Logger
	segMax int64
	large  int64
	noSync bool

	// wmu guards appends to segments and the segment bookkeeping.
	wmu     sync.Mutex
	cur     *spoolSegment
	segs    map[uint64]*spoolSegment
	nextSeg uint64
	written uint64          // put records written to segments (their sequence)
	dirty   []*spoolSegment // segments with put records not yet fdatasynced
	closed  bool
	lock    *os.File // holds the lock on dir/lock

	// smu guards the group commit state.
	smu     sync.Mutex
	synced  uint64        // put records up to here are durable
	failed  [][2]uint64   // put records in (from, to] met a failed fdatasync
	syncing chan struct{} // non-nil while a commit runs; closed when it ends

	// dirs coalesce the fsyncs of the spool's directories (by path).
	dirs map[string]*dirSyncer

	// idmu guards the set of live IDs and the ID generator.
	idmu   sync.Mutex
	ids    map[string]struct{}
	lastID uint64

	// fsyncs counts every fsync and fdatasync (for tests and benchmarks).
	fsyncs atomic.Int64
	// dirSyncHook, when set (tests), runs before each directory fsync.
	dirSyncHook func()
	// syncHook, when set (tests), runs in the committer before each
	// group commit's fdatasync; an error it returns stands for a failed
	// fdatasync.
	syncHook func() error
}

// spoolSegment is one incoming segment file.
type spoolSegment struct {
	num     uint64
	path    string
	f       *os.File
	size    int64 // where the next record goes
	live    int   // messages not removed (put records being committed count)
	readers int   // open content readers
	broken  bool  // a failed write could not be undone: no more puts here
	gone    bool  // closed and deleted
}

var (
	errSpoolClosed = errors.New("queue spool: closed")
	errSyncFailed  = errors.New("queue spool: fdatasync failed; message not stored")
)

// openSpool opens (creating) the spool in o.Dir and recovers every live
// message. What it cannot read is moved to corrupt/ and logged; it is
// never an error that stops the queue. The messages are sorted by
// arrival.
func openSpool(o spoolOptions) (*spool, []*qmsg, error) {
	if o.Dir == "" {
		return nil, nil, errors.New("queue spool: no directory")
	}
	s := &spool{
		dir:    o.Dir,
		log:    o.Logger,
		segMax: o.SegmentBytes,
		large:  o.LargeBytes,
		noSync: o.NoSync,
		segs:   map[uint64]*spoolSegment{},
		dirs:   map[string]*dirSyncer{},
		ids:    map[string]struct{}{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.segMax <= 0 {
		s.segMax = 16 << 20
	}
	if s.large <= 0 {
		s.large = 1 << 20
	}
	s.large = min(s.large, 64<<20) // a segment record is built in memory
	for _, d := range []string{"", queueIncoming, queueDeferred, queueHold, queueCorrupt} {
		p := filepath.Join(s.dir, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, nil, fmt.Errorf("queue spool: %w", err)
		}
		s.dirs[p] = &dirSyncer{}
	}
	lock, err := lockSpoolDir(s.dir)
	if err != nil {
		return nil, nil, err
	}
	s.lock = lock
	// The queue directories themselves must survive a power loss.
	if err := s.syncDir(s.dir); err != nil {
		s.closeFiles()
		return nil, nil, err
	}
	msgs, err := s.recover()
	if err != nil {
		s.closeFiles()
		return nil, nil, err
	}
	s.wmu.Lock()
	err = s.roll()
	s.wmu.Unlock()
	if err != nil {
		s.closeFiles()
		return nil, nil, err
	}
	return s, msgs, nil
}

// close closes the spool's files and deletes segments without live
// messages. Calls other than close after it fail.
func (s *spool) close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var first error
	for _, seg := range s.segs {
		if seg.live == 0 && seg.readers == 0 {
			if err := s.deleteSegment(seg); err != nil && first == nil {
				first = err
			}
			continue
		}
		if err := seg.f.Close(); err != nil && first == nil {
			first = err
		}
		seg.gone = true
	}
	if err := s.lock.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// closeFiles closes what a failed openSpool opened and drops the lock
// (tests use it to leave a spool as a killed process would).
func (s *spool) closeFiles() {
	for _, seg := range s.segs {
		seg.f.Close()
	}
	if s.lock != nil {
		s.lock.Close()
	}
}

// path is where the file of a message not in a segment is.
func (s *spool) path(m *qmsg) string {
	return filepath.Join(s.dir, m.queue, m.env.ID)
}

// open returns the message's content; it may be called many times, also
// concurrently. Close what it returns.
func (s *spool) open(m *qmsg) (io.ReadCloser, error) {
	if seg := m.seg; seg != nil {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if seg.gone {
			return nil, errSpoolClosed
		}
		seg.readers++
		return &spoolSegReader{SectionReader: io.NewSectionReader(seg.f, m.coff, m.size), s: s, seg: seg}, nil
	}
	f, err := openNoAtime(s.path(m))
	if err != nil {
		return nil, fmt.Errorf("queue spool: %w", err)
	}
	return &spoolFileReader{SectionReader: io.NewSectionReader(f, m.coff, m.size), f: f}, nil
}

// spoolSegReader reads a message's content in a segment; the segment stays
// until every reader is closed.
type spoolSegReader struct {
	*io.SectionReader
	s    *spool
	seg  *spoolSegment
	once sync.Once
}

func (r *spoolSegReader) Close() error {
	r.once.Do(func() {
		r.s.wmu.Lock()
		r.seg.readers--
		r.s.maybeDelete(r.seg)
		r.s.wmu.Unlock()
	})
	return nil
}

// spoolFileReader reads a message's content in its own file.
type spoolFileReader struct {
	*io.SectionReader
	f *os.File
}

func (r *spoolFileReader) Close() error { return r.f.Close() }

// record appends the outcome st of recipient idx to the message's
// storage without fsync. Sent and Bounced set m.done[idx]; Deferred sets
// m.reason[idx].
func (s *spool) record(m *qmsg, idx int, st Status, reason string) error {
	if idx < 0 || idx >= len(m.env.Recipients) {
		return fmt.Errorf("queue spool: %s: no recipient %d", m.env.ID, idx)
	}
	if st != Sent && st != Bounced && st != Deferred {
		return fmt.Errorf("queue spool: %s: %v is not a recipient outcome", m.env.ID, st)
	}
	if len(reason) > maxReasonBytes {
		reason = reason[:maxReasonBytes]
	}
	if err := s.appendMark(m, outcomeRecord(m.off, idx, st, reason)); err != nil {
		return err
	}
	if st == Deferred {
		m.reason[idx] = reason
	} else {
		m.done[idx] = true
	}
	return nil
}

// markWarned records, without fsync, that the delay warning went out:
// after a power loss a second warning may go out.
func (s *spool) markWarned(m *qmsg) error {
	if err := s.appendMark(m, markRecord(recWarned, m.off)); err != nil {
		return err
	}
	m.warned = true
	return nil
}

// remove removes a message that is done or deleted: its file is
// removed, or it is marked removed in its segment (without fsync); a
// segment whose messages are all removed is deleted when it is no longer
// the current one. A removal record that cannot be written (a full disk)
// is logged, not returned: see the comment inside.
func (s *spool) remove(m *qmsg) error {
	if seg := m.seg; seg != nil {
		s.wmu.Lock()
		if s.closed || seg.gone {
			s.wmu.Unlock()
			return errSpoolClosed
		}
		if err := s.appendLocked(seg, markRecord(recRemoved, m.off)); err != nil {
			// A full disk must not keep done messages in the queue
			// (their segment is deleted when its last one goes, which
			// frees space): the removal holds in memory, and only a
			// restart before the segment goes brings the message back
			// (at-least-once, as after a power loss).
			s.log.Warn("queue spool: cannot record a removal; the message is delivered again if the queue restarts before its segment is deleted",
				"queue_id", m.env.ID, "err", err)
		}
		seg.live--
		s.maybeDelete(seg)
		s.wmu.Unlock()
	} else if err := os.Remove(s.path(m)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("queue spool: %w", err)
	}
	s.idmu.Lock()
	delete(s.ids, m.env.ID)
	s.idmu.Unlock()
	return nil
}

// appendMark appends an 'O' or 'W' record to the message's storage.
func (s *spool) appendMark(m *qmsg, rec []byte) error {
	if seg := m.seg; seg != nil {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		return s.appendLocked(seg, rec)
	}
	p := s.path(m)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		if _, err = f.Write(rec); err != nil {
			// A cut-short record at the end is ignored by recovery,
			// but a record after it would be lost with it: undo.
			f.Truncate(fi.Size())
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("queue spool: %w", err)
	}
	if m.queue == queueDeferred && !m.next.IsZero() {
		// The append moved the mtime, which is the next attempt.
		if err := os.Chtimes(p, m.next, m.next); err != nil {
			return fmt.Errorf("queue spool: %w", err)
		}
	}
	return nil
}
