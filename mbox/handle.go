package mbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/yubinmail/yubin/store"
)

// handle is one session's view of a mailbox (store.Mailbox).
type handle struct {
	b       *box
	ro      bool
	view    []*msg // ascending UID
	uidNext uint32
	highest uint64
	pos     int // absolute index of the next event to read
	notify  chan struct{}
	closed  bool
	uv      uint32 // the UIDVALIDITY its view's UIDs belong to
}

var _ store.Mailbox = (*handle)(nil)

// open makes a handle on the box.
func (b *box) open(ctx context.Context, ro bool) (*handle, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.sync(ctx); err != nil {
		if errors.Is(err, store.ErrMailboxGone) {
			return nil, fmt.Errorf("mbox: %q: %w", b.name, store.ErrNoSuchMailbox)
		}
		return nil, err
	}
	h := &handle{b: b, ro: ro, notify: make(chan struct{}, 1)}
	h.view = append([]*msg(nil), b.msgs...)
	h.uidNext, h.highest, h.uv = b.nextUID, b.highest, b.uidValidity
	h.pos = b.evBase + len(b.events)
	b.handles[h] = struct{}{}
	if b.stopWatch == nil {
		b.stopWatch = make(chan struct{})
		go b.watch(b.stopWatch, b.s.opts.pollInterval())
	}
	return h, nil
}

// watch wakes the handles when another program changes the file.
func (b *box) watch(stop chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		fi, err := os.Stat(b.path)
		b.mu.Lock()
		if err != nil || identOf(fi) != b.ident || len(b.retired) > 0 {
			for h := range b.handles {
				h.signal()
			}
		}
		b.mu.Unlock()
	}
}

func (h *handle) signal() {
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

// Name implements store.Mailbox.
func (h *handle) Name() string { return h.b.name }

// Notify implements store.Mailbox.
func (h *handle) Notify() <-chan struct{} { return h.notify }

// Close implements store.Mailbox.
func (h *handle) Close() error {
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	delete(b.handles, h)
	if len(b.handles) == 0 && b.stopWatch != nil {
		close(b.stopWatch)
		b.stopWatch = nil
	}
	b.trimEvents()
	return nil
}

func (h *handle) check(write bool) error {
	if h.closed {
		return store.ErrClosed
	}
	if write && h.ro {
		return fmt.Errorf("mbox: %w", store.ErrReadOnly)
	}
	return nil
}

// Status implements store.Mailbox.
func (h *handle) Status(ctx context.Context) (store.MailboxStatus, error) {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	if err := h.check(false); err != nil {
		return store.MailboxStatus{}, err
	}
	return statusOf(h.view, h.b.uidValidity, h.uidNext, h.highest), nil
}

func infoOf(m *msg, uv uint32) store.MessageInfo {
	date := time.Unix(m.date, 0)
	return store.MessageInfo{
		UID: m.uid, Flags: m.flags, ModSeq: m.modseq, InternalDate: date, SaveDate: date,
		Size: m.vsize,
	}
}

// Messages implements store.Mailbox.
func (h *handle) Messages(ctx context.Context, uids store.UIDSet, fn func(*store.MessageInfo) error) error {
	h.b.mu.Lock()
	if err := h.check(false); err != nil {
		h.b.mu.Unlock()
		return err
	}
	view, uv := h.view, h.b.uidValidity
	h.b.mu.Unlock()
	for _, m := range view {
		if !uids.Contains(m.uid) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info := h.b.info(m, uv)
		if err := fn(&info); err != nil {
			return err
		}
	}
	return nil
}

// Open implements store.Mailbox.
func (h *handle) Open(ctx context.Context, uid uint32) (store.MessageReader, error) {
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := h.check(false); err != nil {
		return nil, err
	}
	m := b.find(uid)
	if m == nil || b.rf == nil {
		return nil, fmt.Errorf("mbox: UID %d: %w", uid, store.ErrNoSuchMessage)
	}
	return newMsgReader(b.rf.acquire(), m.raw), nil
}

// Append implements store.Mailbox. The message is written at the end of
// the file under the locks and fsynced before Append returns; with
// opts.NoSync (a mail queue's delivery, which keeps its own copy until
// then) the fsync is left to SyncDeliveries. LateUID changes nothing:
// the UID is written with the message.
func (h *handle) Append(ctx context.Context, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	if err := h.check(true); err != nil {
		return store.AppendResult{}, err
	}
	p, err := h.b.s.prepare(r, opts)
	if err != nil {
		return store.AppendResult{}, err
	}
	p.noSync = opts.NoSync && !h.b.s.opts.NoSync
	defer p.body.close()
	out, err := h.b.appendPending(ctx, []*pending{p}, h)
	if err != nil {
		return store.AppendResult{}, err
	}
	return store.AppendResult{UIDValidity: out.uidValidity, UID: out.msgs[0].uid}, nil
}

type appended struct {
	uidValidity uint32
	msgs        []*msg
}

// appendPending appends messages under the mailbox's write locks and
// reports them to the other handles; origin (which may be nil) sees them
// at once.
func (b *box) appendPending(ctx context.Context, items []*pending, origin *handle) (appended, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.s.opts; q.QuotaStorage > 0 || q.QuotaMessages > 0 {
		b.mu.Unlock()
		quota, err := b.s.Quota(ctx)
		b.mu.Lock()
		if err != nil {
			return appended{}, err
		}
		for _, p := range items {
			if quota.Exceeds(p.vsize()) {
				return appended{}, fmt.Errorf("mbox: %w", store.ErrQuotaExceeded)
			}
			quota.StorageUsed += p.vsize()
			quota.MessagesUsed++
		}
	}
	var out []*msg
	err := b.writeLocked(ctx, func(f *os.File) error {
		if b.needWrite {
			// Another program's messages without X-UID: write their
			// UIDs first, so the file's UIDs keep ascending. Without
			// the right to do so (a spool directory yubin may not
			// write in) the append goes on; those messages keep the
			// UIDs they get by position.
			if err := b.rewrite(f, b.msgs); err != nil {
				b.s.log.Warn("mbox: cannot write UIDs into the file", "mailbox", b.name, "err", err)
				b.needWrite = false
			} else {
				f = b.rf.f
			}
		}
		var err error
		out, err = b.appendLocked(f, items)
		return err
	})
	if err != nil {
		return appended{}, err
	}
	for _, m := range out {
		b.addEvent(event{kind: store.ChangeNew, uid: m.uid, m: m, origin: origin})
	}
	if origin != nil {
		origin.view = insertSorted(origin.view, out)
		origin.uidNext, origin.highest = b.nextUID, b.highest
	}
	return appended{uidValidity: b.uidValidity, msgs: out}, nil
}

// insertSorted adds ms to view keeping UID order.
func insertSorted(view []*msg, ms []*msg) []*msg {
	for _, m := range ms {
		i := sort.Search(len(view), func(i int) bool { return view[i].uid >= m.uid })
		if i < len(view) && view[i].uid == m.uid {
			view[i] = m
			continue
		}
		view = append(view, nil)
		copy(view[i+1:], view[i:])
		view[i] = m
	}
	return view
}

func removeUIDs(view []*msg, gone map[uint32]bool) []*msg {
	out := view[:0:0]
	for _, m := range view {
		if !gone[m.uid] {
			out = append(out, m)
		}
	}
	return out
}

// SetFlags implements store.Mailbox.
func (h *handle) SetFlags(ctx context.Context, uids store.UIDSet, op store.FlagOp, flags store.Flags, unchangedSince uint64) ([]store.FlagUpdate, store.UIDSet, error) {
	if err := h.check(true); err != nil {
		return nil, nil, err
	}
	for _, k := range flags.Keywords {
		if !validKeyword(k) {
			return nil, nil, fmt.Errorf("mbox: keyword %q: %w", k, store.ErrKeywordInvalid)
		}
	}
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	var updated []store.FlagUpdate
	var failed store.UIDSet
	var changed []*msg
	err := b.writeLocked(ctx, func(f *os.File) error {
		if h.uv != b.uidValidity {
			return fmt.Errorf("mbox: %q: %w", b.name, store.ErrMailboxGone) // its UIDs name other messages now
		}
		updated, failed, changed = nil, nil, nil
		list := make([]*msg, len(b.msgs))
		copy(list, b.msgs)
		modseq := b.highest
		for i, m := range list {
			if !uids.Contains(m.uid) {
				continue
			}
			if unchangedSince > 0 && m.modseq > unchangedSince {
				failed.Add(m.uid)
				continue
			}
			nf := m.flags.Apply(op, flags)
			if nf.Equal(m.flags) {
				if op == store.FlagsReplace {
					updated = append(updated, store.FlagUpdate{UID: m.uid, Flags: m.flags, ModSeq: m.modseq})
				}
				continue
			}
			modseq++
			nm := *m
			nm.flags, nm.modseq = nf, modseq
			list[i] = &nm
			changed = append(changed, &nm)
			updated = append(updated, store.FlagUpdate{UID: m.uid, Flags: nf, ModSeq: modseq})
		}
		if len(changed) == 0 && !b.needWrite {
			return nil
		}
		old := b.highest
		b.highest = modseq
		ok, err := b.updateInPlace(f, changed)
		if err != nil {
			b.highest = old
			return err
		}
		if ok {
			b.msgs = list
			b.fileChanged(f)
			b.saveState()
			return nil
		}
		if err := b.rewrite(f, list); err != nil {
			b.highest = old
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, m := range changed {
		cur := b.find(m.uid)
		b.addEvent(event{kind: store.ChangeFlags, uid: m.uid, m: cur, origin: h})
		h.view = insertSorted(h.view, []*msg{cur})
	}
	h.uidNext, h.highest = b.nextUID, b.highest
	return updated, failed, nil
}

// Expunge implements store.Mailbox.
func (h *handle) Expunge(ctx context.Context, uids store.UIDSet) ([]uint32, error) {
	if err := h.check(true); err != nil {
		return nil, err
	}
	return h.b.expunge(ctx, h, func(m *msg) bool {
		return m.flags.System&store.Deleted != 0 && uids.Contains(m.uid)
	})
}

// expunge removes the messages sel selects.
func (b *box) expunge(ctx context.Context, h *handle, sel func(*msg) bool) ([]uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var removed []uint32
	err := b.writeLocked(ctx, func(f *os.File) error {
		if h != nil && h.uv != b.uidValidity {
			return fmt.Errorf("mbox: %q: %w", b.name, store.ErrMailboxGone) // its UIDs name other messages now
		}
		removed = nil
		keep := make([]*msg, 0, len(b.msgs))
		for _, m := range b.msgs {
			if sel(m) {
				removed = append(removed, m.uid)
			} else {
				keep = append(keep, m)
			}
		}
		if len(removed) == 0 && !b.needWrite {
			return nil
		}
		old := b.highest
		b.highest++
		if err := b.rewrite(f, keep); err != nil {
			b.highest = old
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	gone := map[uint32]bool{}
	for _, uid := range removed {
		gone[uid] = true
		b.addEvent(event{kind: store.ChangeExpunge, uid: uid, origin: h})
	}
	if h != nil {
		h.view = removeUIDs(h.view, gone)
		h.uidNext, h.highest = b.nextUID, b.highest
	}
	return removed, nil
}

// Copy implements store.Mailbox.
func (h *handle) Copy(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := h.check(false); err != nil {
		return store.CopyResult{}, err
	}
	return h.copy(ctx, uids, dest)
}

func (h *handle) copy(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	db, err := h.b.s.box(dest)
	if err != nil {
		return store.CopyResult{}, err
	}
	// Read the sources from the handle's view, as of now.
	h.b.mu.Lock()
	type src struct {
		m *msg
		r *reader
	}
	var srcs []src
	for _, vm := range h.view {
		if !uids.Contains(vm.uid) {
			continue
		}
		cur := h.b.find(vm.uid)
		if cur == nil || h.b.rf == nil {
			continue
		}
		srcs = append(srcs, src{cur, newMsgReader(h.b.rf.acquire(), cur.raw)})
	}
	h.b.mu.Unlock()
	defer func() {
		for _, s := range srcs {
			s.r.Close()
		}
	}()
	var items []*pending
	defer func() {
		for _, p := range items {
			p.body.close()
		}
	}()
	res := store.CopyResult{}
	for _, s := range srcs {
		p, err := h.b.s.prepare(s.r, store.AppendOptions{Flags: s.m.flags, InternalDate: time.Unix(s.m.date, 0)})
		if err != nil {
			return store.CopyResult{}, err
		}
		items = append(items, p)
		res.SourceUIDs = append(res.SourceUIDs, s.m.uid)
	}
	if len(items) == 0 {
		db.mu.Lock()
		err := db.sync(ctx)
		res.DestUIDValidity = db.uidValidity
		db.mu.Unlock()
		return res, err
	}
	var origin *handle
	if db == h.b {
		origin = h
	}
	out, err := db.appendPending(ctx, items, origin)
	if err != nil {
		return store.CopyResult{}, err
	}
	res.DestUIDValidity = out.uidValidity
	for _, m := range out.msgs {
		res.DestUIDs = append(res.DestUIDs, m.uid)
	}
	return res, nil
}

// Move implements store.Mailbox.
func (h *handle) Move(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := h.check(true); err != nil {
		return store.CopyResult{}, err
	}
	res, err := h.copy(ctx, uids, dest)
	if err != nil || len(res.SourceUIDs) == 0 {
		return res, err
	}
	moved := store.UIDSetOf(res.SourceUIDs...)
	res.Expunged, err = h.b.expunge(ctx, h, func(m *msg) bool { return moved.Contains(m.uid) })
	return res, err
}

// Poll implements store.Mailbox.
func (h *handle) Poll(ctx context.Context) ([]store.Change, error) {
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := h.check(false); err != nil {
		return nil, err
	}
	syncErr := b.sync(ctx)
	if syncErr != nil && !errors.Is(syncErr, store.ErrMailboxGone) {
		return nil, syncErr
	}
	var changes []store.Change
	for _, e := range b.events[h.pos-b.evBase:] {
		if e.origin == h {
			continue
		}
		switch e.kind {
		case store.ChangeNew, store.ChangeFlags:
			i := sort.Search(len(h.view), func(i int) bool { return h.view[i].uid >= e.uid })
			if i < len(h.view) && h.view[i].uid == e.uid {
				if h.view[i].modseq >= e.m.modseq {
					continue // the handle's own later change
				}
				h.view[i] = e.m
			} else if e.kind == store.ChangeNew {
				h.view = insertSorted(h.view, []*msg{e.m})
			} else {
				continue
			}
			changes = append(changes, store.Change{Kind: e.kind, UID: e.uid, Message: b.info(e.m, b.uidValidity)})
		case store.ChangeExpunge:
			i := sort.Search(len(h.view), func(i int) bool { return h.view[i].uid >= e.uid })
			if i < len(h.view) && h.view[i].uid == e.uid {
				h.view = append(h.view[:i], h.view[i+1:]...)
				changes = append(changes, store.Change{Kind: e.kind, UID: e.uid})
			}
		case store.ChangeUIDValidity:
			h.view, h.uv = nil, b.uidValidity
			changes = append(changes, store.Change{Kind: e.kind})
		case store.ChangeDeleted:
			changes = append(changes, store.Change{Kind: e.kind})
		}
	}
	h.pos = b.evBase + len(b.events)
	if syncErr == nil {
		h.uidNext, h.highest = b.nextUID, b.highest
	}
	b.trimEvents()
	return changes, nil
}
