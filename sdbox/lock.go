package sdbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/store"
	"golang.org/x/sys/unix"
)

// Dovecot serialises writers of an index with an fcntl write lock on
// dovecot.index.log (lock_method = fcntl, the default). yubin takes the
// same lock as an open-file-description lock, which conflicts with
// Dovecot's process locks and, unlike them, is not dropped when another
// descriptor of the file is closed in this process.

// txn is a write transaction: the log locked, and where the log ends.
type txn struct {
	h    *hub
	f    *os.File
	ino  uint64
	end  int    // where the next record goes
	size int64  // file size (end < size: a torn tail to overwrite)
	tip  *state // the mailbox at end, as far as a writer needs it
	full bool   // tip is the whole mailbox (loaded from disk)
	// onlyOwn: the records between the handle's position and end are
	// all its own, so the handle can move its position past what it
	// writes now.
	onlyOwn bool
	seq     uint32
	// held: f is the descriptor the hub kept open since before this
	// transaction (lockLog).
	held bool
	// afterWrite runs once the records are durable, still under the lock.
	afterWrite func()
	// beforeSync runs once the records are written, before the log's
	// fdatasync.
	beforeSync func()
	// noSync: commit writes without fdatasync (deliveries waiting for
	// SyncDeliveries).
	noSync bool
}

// begin locks the log and finds its end. With a handle (mb not nil),
// only the records after the handle's position are read; otherwise (or
// when the log was replaced) the mailbox is loaded whole.
func (h *hub) begin(ctx context.Context, mb *Mailbox) (*txn, error) {
	var base *state
	var pos logPos
	var ino uint64
	if mb != nil && mb.gone == 0 {
		base, pos, ino = mb.view, mb.pos, mb.ino
	}
	h.mu.Lock()
	t, err := h.lockLog(ctx)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	hdrBuf := make([]byte, 4096)
	n, _ := t.f.ReadAt(hdrBuf, 0)
	lh, err := parseLogHeader(hdrBuf[:n])
	if err != nil {
		t.abort()
		return nil, fmt.Errorf("sdbox: %s: %w", h.dir, err)
	}
	t.seq = lh.FileSeq
	if base != nil && t.ino == ino && lh.FileSeq == pos.seq && int64(pos.off) <= t.size {
		buf := make([]byte, t.size-int64(pos.off))
		if _, err := t.f.ReadAt(buf, int64(pos.off)); err != nil && !errors.Is(err, io.EOF) {
			t.abort()
			return nil, err
		}
		sc := &state{hdr: base.hdr, modseq: pos.modseq}
		foreign := false
		t.end, _ = walkLog(buf, pos.off, pos.off, func(r logRecord) error {
			sc.apply(r, nil)
			foreign = foreign || !mb.isOwn(r.Off)
			return nil
		})
		t.tip, t.onlyOwn = sc, !foreign
		return t, nil
	}
	l, err := loadState(h.dir)
	if err != nil {
		t.abort()
		return nil, err
	}
	t.tip, t.end, t.full = l.st, l.pos.off, true
	if l.pos.seq != lh.FileSeq || t.end < lh.HdrSize {
		t.end = int(t.size)
	}
	return t, nil
}

// lockLog locks dovecot.index.log, making sure the file locked is
// still the one in place (Dovecot replaces it when it rotates). h.mu
// must be held.
//
// While the mailbox has handles the hub keeps the log open between
// transactions, as Dovecot keeps it open while a mailbox is selected: a
// transaction then costs the lock, a stat of the log's name (which also
// gives its size) and the unlock, instead of an open, the lock, an
// fstat, a stat and a close.
func (h *hub) lockLog(ctx context.Context) (*txn, error) {
	path := filepath.Join(h.dir, logName)
	deadline := time.Now().Add(h.s.opts.lockTimeout())
	wait := time.Millisecond
	for {
		f, held := h.logf, h.logf != nil
		if !held {
			fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ENOENT) {
				if !isDir(h.dir) {
					return nil, fmt.Errorf("sdbox: %w", store.ErrMailboxGone)
				}
				if err := h.s.ensureLog(h.dir); err != nil {
					return nil, err
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("sdbox: open %s: %w", path, err)
			}
			f = os.NewFile(uintptr(fd), path)
		}
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if err == nil {
			var fst, pst syscall.Stat_t
			if held {
				fst.Ino, fst.Dev = h.logIno, h.logDev
			} else if err := syscall.Fstat(int(f.Fd()), &fst); err != nil {
				f.Close()
				return nil, fmt.Errorf("sdbox: %s: %w", path, err)
			}
			if err := syscall.Stat(path, &pst); err == nil && fst.Ino == pst.Ino && fst.Dev == pst.Dev {
				// The name is the descriptor's file: its size is the
				// file's.
				if !held {
					h.logf, h.logIno, h.logDev = f, fst.Ino, fst.Dev
					h.logGen++
				}
				return &txn{h: h, f: f, ino: pst.Ino, size: pst.Size, held: held}, nil
			}
			// Replaced (rotated, or the mailbox deleted or renamed)
			// while we waited or since we last wrote: lock the new one.
			h.dropLog()
			if !held {
				f.Close()
			}
			continue
		}
		if !held {
			f.Close()
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("sdbox: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("sdbox: timed out waiting for the lock of %s: %w", path, store.ErrTemporary)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 20*time.Millisecond {
			wait *= 2
		}
	}
}

// dropLog closes the log (and directory) descriptors the hub keeps.
// h.mu must be held.
func (h *hub) dropLog() {
	if h.logf != nil {
		h.logf.Close()
		h.logf = nil
	}
	if h.dirf != nil {
		h.dirSyncs.Wait() // a batch's directory fsync still running
		h.dirf.Close()
		h.dirf = nil
	}
}

// syncMailDir fsyncs the dbox-Mails directory through a descriptor kept
// with the log's (see lockLog). h.mu must be held to call it; the fsync
// itself may run on after it is released (dropLog waits for it).
func (h *hub) syncMailDir() func() error {
	if h.s.opts.NoSync {
		return func() error { return nil }
	}
	if h.dirf == nil {
		fd, err := unix.Open(h.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return func() error { return &os.PathError{Op: "open", Path: h.dir, Err: err} }
		}
		h.dirf = os.NewFile(uintptr(fd), h.dir)
	}
	d := h.dirf
	h.dirSyncs.Add(1)
	return func() error {
		defer h.dirSyncs.Done()
		if err := unix.Fsync(int(d.Fd())); err != nil {
			return &os.PathError{Op: "fsync", Path: h.dir, Err: err}
		}
		return nil
	}
}

// commit appends the transaction's bytes at the end of the log, makes
// them durable and unlocks. It returns the bytes and where they went.
func (t *txn) commit(tx *txBuilder) ([]byte, int, error) {
	defer t.abort()
	if tx.empty() {
		return nil, t.end, nil
	}
	data := tx.bytes()
	if int64(t.end) < t.size {
		// The log ends in bytes no reader can use (a transaction a
		// crash cut short, or garbage): keep a copy of them aside, then
		// write over them so that the new records are readable.
		if err := t.saveTail(); err != nil {
			return nil, 0, err
		}
	}
	if _, err := t.f.WriteAt(data, int64(t.end)); err != nil {
		return nil, 0, fmt.Errorf("sdbox: write log: %w", err)
	}
	if int64(t.end+len(data)) < t.size {
		// Overwrote a torn transaction: drop what is left of it.
		t.f.Truncate(int64(t.end + len(data)))
	}
	if t.beforeSync != nil {
		t.beforeSync()
	}
	if !t.h.s.opts.NoSync && !t.noSync {
		if err := unix.Fdatasync(int(t.f.Fd())); err != nil {
			return nil, 0, fmt.Errorf("sdbox: sync log: %w", err)
		}
	}
	if t.afterWrite != nil {
		t.afterWrite()
	}
	if end := t.end + len(data); t.wantRotate(end) {
		// The transaction is durable: a rotation that cannot be done
		// now is tried again by the next write.
		if err := t.rotate(end); err != nil {
			t.h.s.opts.logger().Warn("sdbox: transaction log not rotated", "dir", t.h.dir, "err", err)
		}
	}
	return data, t.end, nil
}

// abort unlocks without writing. The hub keeps the log open while the
// mailbox has handles; otherwise closing the descriptor drops the lock.
func (t *txn) abort() {
	if t.f == nil {
		return
	}
	h := t.h
	if t.f == h.logf && h.inUse() {
		lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart}
		if err := unix.FcntlFlock(t.f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
			h.dropLog()
		}
	} else if t.f == h.logf {
		h.dropLog()
	} else {
		t.f.Close()
	}
	t.f = nil
	h.mu.Unlock()
}

// saveTail copies the unreadable end of the log to
// dovecot.index.log.damaged.<seq>.<offset> and reports it.
func (t *txn) saveTail() error {
	tail := make([]byte, t.size-int64(t.end))
	if _, err := t.f.ReadAt(tail, int64(t.end)); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("sdbox: read log: %w", err)
	}
	p := filepath.Join(t.h.dir, fmt.Sprintf("%s.damaged.%d.%d", logName, t.seq, t.end))
	if err := os.WriteFile(p, tail, 0o600); err != nil {
		return fmt.Errorf("sdbox: keep damaged log tail: %w", err)
	}
	t.h.s.chown(p)
	t.h.s.opts.logger().Warn("sdbox: transaction log ended in unreadable bytes; kept aside and overwritten", "file", p, "bytes", len(tail))
	return nil
}
