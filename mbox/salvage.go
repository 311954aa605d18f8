package mbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/store"
)

// A rewrite replaces the mailbox file by rename, so that a crash leaves
// the old or the new mailbox. A program that opened the old file before
// the rename and waits for its fcntl lock meanwhile gets that lock on
// the replaced file once yubin lets go. Dovecot with Debian's lock order
// (mbox_write_locks = fcntl dotlock) checks which file is in place only
// before it waits, so it then appends its message to the replaced file.
//
// So the replaced file stays linked, under the recovery name
// ".<mailbox file>.yubin-replaced.<until>.<size>" beside the mailbox,
// until the lock timeout (plus a minute) has passed: size is how much of
// it had been moved into the mailbox, until (Unix seconds) when no
// writer can still be waiting for its lock. Whoever holds the mailbox's
// write locks moves what was appended after size into the mailbox and
// renames the link to the new size, so that a late message is moved in
// once, by whichever yubin process (or Store) gets there first, and
// survives a crash of the yubin that replaced the file: the next open
// finds the link. The moved message gets a new UID, after every UID in
// the mailbox and every UID yubin gave (the late writer's own X-UID may
// be one of those). Past until, the link is removed under the same
// locks. A link to the mailbox file itself (a crash between the link and
// the rename) is removed at once.

// replacedMark is the part of a recovery link's name after the mailbox
// file's.
const replacedMark = ".yubin-replaced."

// retiredFile is a replaced mailbox file watched for late appends.
type retiredFile struct {
	f     *os.File
	size  int64 // how much of it is in the mailbox (as far as this box knows)
	until time.Time
	link  string // its recovery link, "" if none could be made
}

// replacedPrefix is the recovery links' name prefix for the mailbox.
func (b *box) replacedPrefix() string { return "." + filepath.Base(b.path) + replacedMark }

// replacedName is a recovery link's name.
func (b *box) replacedName(until time.Time, size int64) string {
	return filepath.Join(filepath.Dir(b.path), fmt.Sprintf("%s%d.%d", b.replacedPrefix(), until.Unix(), size))
}

// parseReplaced reads until and size from a recovery link's base name.
func (b *box) parseReplaced(name string) (until time.Time, size int64, ok bool) {
	rest, ok := strings.CutPrefix(name, b.replacedPrefix())
	if !ok {
		return time.Time{}, 0, false
	}
	us, ss, ok := strings.Cut(rest, ".")
	u, err1 := strconv.ParseInt(us, 10, 64)
	sz, err2 := strconv.ParseInt(ss, 10, 64)
	if !ok || err1 != nil || err2 != nil || sz < 0 {
		return time.Time{}, 0, false
	}
	return time.Unix(u, 0), sz, true
}

// retire keeps the file src (about to be replaced; size bytes, all in
// the mailbox) open and linked under a recovery name for salvage. The
// caller fsyncs the directory after the rename.
func (b *box) retire(src *os.File, size int64) {
	fdPath := fmt.Sprintf("/proc/self/fd/%d", src.Fd())
	f, err := os.Open(fdPath)
	if err != nil {
		b.s.log.Warn("mbox: cannot watch the replaced file", "mailbox", b.name, "err", err)
		return
	}
	until := time.Now().Add(b.s.opts.lockTimeout() + time.Minute)
	link := b.replacedName(until, size)
	if err := unix.Linkat(unix.AT_FDCWD, fdPath, unix.AT_FDCWD, link, unix.AT_SYMLINK_FOLLOW); err != nil {
		b.s.log.Warn("mbox: cannot keep the replaced file linked; a late append to it is lost if yubin stops within the lock timeout", "mailbox", b.name, "err", err)
		link = ""
	}
	b.retired = append(b.retired, retiredFile{f: f, size: size, until: until, link: link})
}

// unretire undoes the last retire (the rename failed: src is still the
// mailbox).
func (b *box) unretire() {
	n := len(b.retired)
	if n == 0 {
		return
	}
	r := b.retired[n-1]
	if r.link != "" {
		os.Remove(r.link)
	}
	r.f.Close()
	b.retired = b.retired[:n-1]
}

// discoverReplaced adds the recovery links left beside the mailbox (by
// a yubin that stopped, or another process) to b.retired (b.mu held).
func (b *box) discoverReplaced() {
	ents, err := os.ReadDir(filepath.Dir(b.path))
	if err != nil {
		return
	}
	known := map[string]bool{}
	for _, r := range b.retired {
		known[r.link] = true
	}
	for _, e := range ents {
		until, size, ok := b.parseReplaced(e.Name())
		p := filepath.Join(filepath.Dir(b.path), e.Name())
		if !ok || known[p] {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue // moved in and removed meanwhile
		}
		b.retired = append(b.retired, retiredFile{f: f, size: size, until: until, link: p})
	}
}

// salvage moves messages appended to replaced files into the mailbox
// (b.mu held). A file is looked at only once it grew or its time is up;
// one still locked by its writer is left for a later call.
func (b *box) salvage(ctx context.Context) {
	list := b.retired
	b.retired = nil // a rewrite below retires files of its own
	var keep []retiredFile
	for _, r := range list {
		fi, err := r.f.Stat()
		if err == nil && fi.Size() <= r.size && time.Now().Before(r.until) {
			keep = append(keep, r)
			continue
		}
		finished, err := b.salvageOne(ctx, &r)
		if err != nil {
			b.s.log.Warn("mbox: salvaging messages from a replaced file", "mailbox", b.name, "err", err)
		}
		if !finished {
			keep = append(keep, r)
			continue
		}
		r.f.Close()
	}
	b.retired = append(keep, b.retired...)
}

// salvageOne appends to the mailbox, under its write locks, what was
// appended to r since it was replaced, and removes r's link once its
// time is up. finished is true when r needs no more watching.
func (b *box) salvageOne(ctx context.Context, r *retiredFile) (finished bool, err error) {
	err = b.writeLocked(ctx, func(f *os.File) error {
		var rst, mst syscall.Stat_t
		if err := syscall.Fstat(int(r.f.Fd()), &rst); err != nil {
			return err
		}
		if r.link != "" {
			// Another process may have moved appends in (and renamed the
			// link) or finished with the file (and removed it).
			link, size, ok := b.findReplaced(rst.Ino)
			if !ok {
				finished = true
				return nil
			}
			r.link, r.size = link, max(r.size, size)
		}
		if err := syscall.Fstat(int(f.Fd()), &mst); err == nil && mst.Ino == rst.Ino && mst.Dev == rst.Dev {
			// Linked but never replaced (a crash before the rename).
			if r.link != "" {
				os.Remove(r.link)
			}
			finished = true
			return nil
		}
		lk := unix.Flock_t{Type: unix.F_RDLCK}
		if err := unix.FcntlFlock(r.f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
			return nil // its writer is at it: later
		}
		defer fcntlUnlock(r.f)
		fi, err := r.f.Stat()
		if err != nil {
			return err
		}
		if fi.Size() > r.size {
			if err := b.moveIn(ctx, f, r, fi.Size()); err != nil {
				return err
			}
		}
		if !time.Now().Before(r.until) {
			if r.link != "" {
				if err := os.Remove(r.link); err != nil && !os.IsNotExist(err) {
					return err
				}
			}
			finished = true
		}
		return nil
	})
	return finished, err
}

// findReplaced finds the recovery link of inode ino beside the mailbox:
// its path and the size it records.
func (b *box) findReplaced(ino uint64) (string, int64, bool) {
	dir := filepath.Dir(b.path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, false
	}
	for _, e := range ents {
		_, size, ok := b.parseReplaced(e.Name())
		if !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Ino == ino {
			return filepath.Join(dir, e.Name()), size, true
		}
	}
	return "", 0, false
}

// moveIn appends the messages r holds between r.size and size to the
// mailbox file f (write-locked, b.mu held), with new UIDs, then records
// in r's link that they are in.
func (b *box) moveIn(ctx context.Context, f *os.File, r *retiredFile, size int64) error {
	// The appended part starts with a From_ line, perhaps after the
	// empty line that ends the last message.
	start := r.size
	var head [1]byte
	for start < size {
		if n, _ := r.f.ReadAt(head[:], start); n != 1 || head[0] != '\n' {
			break
		}
		start++
	}
	res, ok, err := parseTail(r.f, start, size)
	if err == nil && !ok {
		err = fmt.Errorf("no From_ line at offset %d", start)
	}
	if err != nil {
		// Not retried at every sync, not deleted: the file is kept under
		// a name no salvage looks for, for the postmaster.
		if r.link != "" {
			kept := filepath.Join(filepath.Dir(b.path), fmt.Sprintf(".%s.yubin-unreadable.%d", filepath.Base(b.path), time.Now().UnixNano()))
			if rerr := os.Rename(r.link, kept); rerr == nil {
				b.s.log.Warn("mbox: what was appended to a replaced mailbox file cannot be read; kept aside", "mailbox", b.name, "file", kept, "err", err)
				r.link = ""
			}
		}
		r.size = size
		return nil
	}
	ref := newFileRef(r.f)
	ref.refs.Add(1)   // r.f stays open after the readers
	ref.noLock = true // read under salvageOne's lock
	var items []*pending
	defer func() {
		for _, p := range items {
			p.body.close()
		}
	}()
	for i, m := range res.msgs {
		p, err := b.s.prepare(newReader(ref.acquire(), m.segments()), store.AppendOptions{Flags: res.metas[i].flags, InternalDate: time.Unix(res.metas[i].date, 0)})
		if err != nil {
			return err
		}
		items = append(items, p)
	}
	if len(items) > 0 {
		if b.needWrite {
			if err := b.rewrite(f, b.msgs); err != nil {
				return err
			}
			f = b.rf.f
		}
		// appendLocked numbers them from b.nextUID: past every UID in
		// the file (writeLocked has read it) and every UID this box gave.
		out, err := b.appendLocked(f, items)
		if err != nil {
			return err
		}
		for _, m := range out {
			b.addEvent(event{kind: store.ChangeNew, uid: m.uid, m: m})
		}
		b.s.log.Warn("mbox: messages appended to a replaced mailbox file moved into the mailbox", "mailbox", b.name, "messages", len(out))
	}
	r.size = size
	if r.link != "" {
		link := b.replacedName(r.until, size)
		if err := os.Rename(r.link, link); err != nil {
			return fmt.Errorf("mbox: record moved messages: %w", err)
		}
		r.link = link
		if err := b.s.syncDir(filepath.Dir(b.path)); err != nil {
			return err
		}
	}
	return nil
}
