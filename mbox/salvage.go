package mbox

import (
	"context"
	"fmt"
	"os"
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
// yubin keeps each replaced file open for a while (retired) and moves
// any message appended to it into the mailbox, with a new UID: nothing
// delivered is lost. (Dovecot gave the message a UID yubin may have
// given another; a Dovecot session that saw it meanwhile may have cached
// it under that UID, which Dovecot finds out and drops at its next read.)

// retiredFile is a replaced mailbox file watched for late appends.
type retiredFile struct {
	f     *os.File
	size  int64 // its size when it was replaced (or last salvaged)
	until time.Time
}

// retire keeps the file src (about to be replaced) open for salvage.
func (b *box) retire(src *os.File, size int64) {
	f, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", src.Fd()))
	if err != nil {
		b.s.log.Warn("mbox: cannot watch the replaced file", "mailbox", b.name, "err", err)
		return
	}
	b.retired = append(b.retired, retiredFile{f: f, size: size, until: time.Now().Add(b.s.opts.lockTimeout() + time.Minute)})
}

// salvage moves messages appended to replaced files into the mailbox
// (b.mu held). A replaced file still locked by its writer is left for a
// later call.
func (b *box) salvage(ctx context.Context) {
	list := b.retired
	b.retired = nil // a rewrite below retires files of its own
	var keep []retiredFile
	for _, r := range list {
		done, err := b.salvageOne(ctx, &r)
		if err != nil {
			b.s.log.Warn("mbox: salvaging messages from a replaced file", "mailbox", b.name, "err", err)
		}
		if !done || time.Now().Before(r.until) {
			keep = append(keep, r)
			continue
		}
		r.f.Close()
	}
	b.retired = append(keep, b.retired...)
}

// salvageOne appends to the mailbox what was appended to r since it was
// replaced. done is false when r was locked.
func (b *box) salvageOne(ctx context.Context, r *retiredFile) (done bool, err error) {
	lk := unix.Flock_t{Type: unix.F_RDLCK}
	if err := unix.FcntlFlock(r.f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		return false, nil
	}
	defer fcntlUnlock(r.f)
	fi, err := r.f.Stat()
	if err != nil || fi.Size() <= r.size {
		return true, err
	}
	// The appended part starts with a From_ line, perhaps after the
	// empty line that ends the last message.
	start := r.size
	var head [2]byte
	for start < fi.Size() {
		if n, _ := r.f.ReadAt(head[:1], start); n != 1 || head[0] != '\n' {
			break
		}
		start++
	}
	res, ok, err := parseTail(r.f, start, fi.Size())
	if err != nil || !ok {
		return true, err
	}
	ref := newFileRef(r.f)
	ref.refs.Add(1)   // r.f stays open after the readers
	ref.noLock = true // read under salvageOne's lock
	var items []*pending
	for i, m := range res.msgs {
		p, perr := b.s.prepare(newReader(ref.acquire(), m.segments()), store.AppendOptions{Flags: res.metas[i].flags, InternalDate: time.Unix(res.metas[i].date, 0)})
		if perr != nil {
			err = perr
			break
		}
		items = append(items, p)
	}
	if len(items) > 0 {
		var out []*msg
		werr := b.writeLocked(ctx, func(f *os.File) error {
			if b.needWrite {
				if err := b.rewrite(f, b.msgs); err != nil {
					return err
				}
				f = b.rf.f
			}
			var err error
			out, err = b.appendLocked(f, items)
			return err
		})
		for _, p := range items {
			p.body.close()
		}
		if werr != nil {
			return true, werr
		}
		for _, m := range out {
			b.addEvent(event{kind: store.ChangeNew, uid: m.uid, m: m})
		}
		b.s.log.Warn("mbox: messages appended to a replaced mailbox file moved into the mailbox", "mailbox", b.name, "messages", len(out))
	}
	r.size = fi.Size()
	return true, err
}
