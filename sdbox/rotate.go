package sdbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Log rotation, as Dovecot's mail_index_write does it after a sync: once
// dovecot.index.log is past the rotate size, a new log continues it (the
// old one kept as dovecot.index.log.2) and dovecot.index is rewritten
// from the mailbox's state to point at the new log's start. A mailbox
// only yubin changes thus keeps a log of bounded size, and readers start
// from the index.

// Dovecot's defaults: mail_index_log_rotate_min_size,
// mail_index_log_rotate_max_size, mail_index_log_rotate_min_age and the
// stale time of the log's dotlock.
const (
	defaultRotateMinSize = 32 << 10
	defaultRotateMaxSize = 1 << 20
	defaultRotateMinAge  = 5 * time.Minute
	logDotlockStale      = 3 * time.Minute
)

func (o *Options) rotateSizes() (minSize, maxSize int64, minAge time.Duration) {
	minSize, maxSize, minAge = defaultRotateMinSize, defaultRotateMaxSize, defaultRotateMinAge
	if o.LogRotateMinSize > 0 {
		minSize = o.LogRotateMinSize
	}
	if o.LogRotateMaxSize > 0 {
		maxSize = o.LogRotateMaxSize
	}
	switch {
	case o.LogRotateMinAge > 0:
		minAge = o.LogRotateMinAge
	case o.LogRotateMinAge < 0:
		minAge = 0
	}
	return minSize, maxSize, minAge
}

// wantRotate reports whether a log ending at end should be rotated:
// past the maximum size, or past the minimum and older than the minimum
// age (Dovecot's mail_transaction_log_want_rotate).
func (t *txn) wantRotate(end int) bool {
	minSize, maxSize, minAge := t.h.s.opts.rotateSizes()
	if int64(end) > maxSize {
		return true
	}
	if int64(end) < minSize {
		return false
	}
	h := t.h
	created, ok := h.logCreated, t.f == h.logf && h.logCreatedGen == h.logGen
	if !ok {
		var b [logHeaderSize]byte
		n, _ := t.f.ReadAt(b[:], 0)
		lh, err := parseLogHeader(b[:n])
		if err != nil {
			return false
		}
		created = lh.CreateStamp
		if t.f == h.logf {
			// The header of a log never changes: read once per kept
			// descriptor.
			h.logCreated, h.logCreatedGen = created, h.logGen
		}
	}
	return time.Since(time.Unix(int64(created), 0)) >= minAge
}

// rotate replaces the locked log, which ends at end, with a new one and
// writes dovecot.index for the mailbox there. It changes nothing when
// the mailbox cannot be written out faithfully (damage, or expunges
// Dovecot requested and has yet to carry out: those are its to finish).
func (t *txn) rotate(end int) error {
	h := t.h
	l, err := loadStateFor(h.dir, true)
	if err != nil {
		return err
	}
	if len(l.damage) > 0 {
		return fmt.Errorf("not rotating a damaged mailbox: %w", errors.Join(l.damage...))
	}
	if l.ino != t.ino || l.pos.seq != t.seq || l.pos.off != end {
		return fmt.Errorf("log changed under its lock (%d/%d at %d, want %d/%d at %d)", l.ino, l.pos.seq, l.pos.off, t.ino, t.seq, end)
	}
	if l.st.expungePending() {
		return nil
	}
	var b [logHeaderSize]byte
	n, _ := t.f.ReadAt(b[:], 0)
	old, err := parseLogHeader(b[:n])
	if err != nil {
		return err
	}
	now := time.Now()
	if l.indexLogSeq != old.FileSeq {
		// dovecot.index does not continue with this log: there is none
		// yet (a new mailbox's first rotation), or it continues with
		// .log.2, which this rotation removes (a rotation that crashed,
		// or failed to write the index, once its log was in place). It
		// is first written for this log's end, so that a crash below
		// cannot leave a log whose predecessor nothing reads (without
		// an index only the log is read) or an index whose log is gone.
		cur, err := buildIndex(l.st, indexWrite{indexID: old.IndexID, logSeq: old.FileSeq, logOff: uint32(end), raw: l.raw, now: uint32(now.Unix())})
		if err != nil {
			return err
		}
		if err := h.writeIndex(cur); err != nil {
			return err
		}
	}
	nh := logHeader{IndexID: old.IndexID, FileSeq: old.FileSeq + 1, PrevFileSeq: old.FileSeq, PrevOffset: uint32(end), CreateStamp: uint32(now.Unix()), InitialModseq: max(l.st.modseq, 1)}
	idx, err := buildIndex(l.st, indexWrite{indexID: old.IndexID, logSeq: nh.FileSeq, logOff: logHeaderSize, raw: l.raw, now: uint32(now.Unix())})
	if err != nil {
		return err
	}

	// The new log is made as Dovecot makes it: written under the
	// dotlock dovecot.index.log.lock, locked, the old log linked to
	// .log.2, then renamed into place.
	logPath := filepath.Join(h.dir, logName)
	lockPath := logPath + ".lock"
	nf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		if fi, serr := os.Stat(lockPath); serr == nil && time.Since(fi.ModTime()) > logDotlockStale {
			os.Remove(lockPath)
			nf, err = os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	if err != nil {
		return err
	}
	defer nf.Close() // after the index is in place: drops the new log's lock
	placed := false
	defer func() {
		if !placed {
			os.Remove(lockPath)
		}
	}()
	sync := !h.s.opts.NoSync
	if _, err := nf.Write(nh.bytes()); err != nil {
		return err
	}
	if sync {
		if err := unix.Fdatasync(int(nf.Fd())); err != nil {
			return err
		}
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(nf.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		return fmt.Errorf("lock new log: %w", err)
	}
	h.s.chown(lockPath)
	log2 := filepath.Join(h.dir, log2Name)
	if err := os.Remove(log2); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.s.opts.logger().Warn("sdbox: remove old log", "file", log2, "err", err)
	}
	if err := os.Link(logPath, log2); err != nil && !errors.Is(err, os.ErrExist) {
		// Dovecot goes on without .log.2 too: the index written below
		// does not need it.
		h.s.opts.logger().Warn("sdbox: keep rotated log", "file", log2, "err", err)
	}
	if err := os.Rename(lockPath, logPath); err != nil {
		return err
	}
	placed = true
	if h.rotateStop != nil {
		return h.rotateStop // a test's crash, the new log in place
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(nf.Fd()), &st); err != nil {
		return err
	}

	if err := h.writeIndex(idx); err != nil {
		return err
	}
	// The next group commit continues from the new log without reading
	// it.
	h.last = &commitTip{ino: st.Ino, seq: nh.FileSeq, end: logHeaderSize, hdr: l.st.hdr, modseq: l.st.modseq}
	return nil
}

// writeIndex replaces dovecot.index with idx: a temporary file, synced,
// renamed over the old one, and the directory synced (which also makes
// a log rename made before it durable).
func (h *hub) writeIndex(idx []byte) error {
	sync := !h.s.opts.NoSync
	tmp := filepath.Join(h.dir, indexName+".tmp")
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(idx)
	if err == nil && sync {
		err = unix.Fdatasync(int(f.Fd()))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		h.s.chown(tmp)
		err = os.Rename(tmp, filepath.Join(h.dir, indexName))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write index: %w", err)
	}
	if sync {
		return h.s.syncDir(h.dir)
	}
	return nil
}
