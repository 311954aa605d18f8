package sdbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/yubinmail/yubin/store"
)

// Mailbox is one session's handle on an sdbox mailbox. It implements
// store.Mailbox; use it from one goroutine at a time.
type Mailbox struct {
	s    *Store
	h    *hub
	name string
	ro   bool

	view *state
	pos  logPos // where view stands in the log, own writes aside
	ino  uint64 // the log file pos refers to

	// own are the log ranges this handle wrote after pos: replayed
	// without reporting them again.
	own    []ownRange
	damage []error
	gone   store.ChangeKind // ChangeDeleted or ChangeUIDValidity once reported
	notify chan struct{}
	closed bool
	// recent are the UID ranges [from, to) recent in this handle
	// (recent.go), ascending; recentInit once the handle has looked.
	recent     [][2]uint32
	recentInit bool
	keepRecent bool // store.OpenOptions.KeepRecent: note \Recent, take nothing
}

var _ store.Mailbox = (*Mailbox)(nil)

// ownRange is a transaction a handle wrote: log file seq, offsets.
type ownRange struct {
	seq        uint32
	start, end int
}

func (mb *Mailbox) isOwn(off int) bool {
	for _, o := range mb.own {
		if o.seq == mb.pos.seq && off >= o.start && off < o.end {
			return true
		}
	}
	return false
}

func (mb *Mailbox) wake() {
	select {
	case mb.notify <- struct{}{}:
	default:
	}
}

// openHandle opens a handle on the mailbox in dbox-Mails directory md.
func (s *Store) openHandle(name, md string, ro bool) (*Mailbox, error) {
	l, err := s.load(md)
	if err != nil {
		return nil, fmt.Errorf("sdbox: open %q: %w", name, err)
	}
	for _, d := range l.damage {
		s.opts.logger().Warn("sdbox: damaged mailbox index or log; using what can be trusted", "mailbox", name, "err", d)
	}
	mb := &Mailbox{s: s, h: s.hubFor(md), name: name, ro: ro, view: l.st, pos: l.pos, ino: l.ino, notify: make(chan struct{}, 1), damage: l.damage}
	mb.h.register(mb)
	if !ro {
		mb.h.cleanTemps()
	}
	return mb, nil
}

// Damage returns what was found damaged in the mailbox's index and
// transaction log when the handle was opened (and not trusted); nil
// for a sound mailbox. Damaged message files are reported when read.
func (mb *Mailbox) Damage() []error { return mb.damage }

// Name implements store.Mailbox.
func (mb *Mailbox) Name() string { return mb.name }

// Notify implements store.Mailbox.
func (mb *Mailbox) Notify() <-chan struct{} { return mb.notify }

// Close implements store.Mailbox.
func (mb *Mailbox) Close() error {
	if !mb.closed {
		mb.flushMeta(1)
		mb.closed = true
		mb.h.unregister(mb)
	}
	return nil
}

// flushMeta writes the facts read from message files into yubin's cache
// (metacache.go) when at least min are waiting.
func (mb *Mailbox) flushMeta(min int) {
	h := mb.h
	h.metaMu.Lock()
	n := len(h.metaNew)
	h.metaMu.Unlock()
	if n < min || mb.gone != 0 {
		return
	}
	view := mb.view
	h.flushMetaCache(func(uid uint32) bool {
		return view.uidValidity() == h.metaUV && view.lookup(uid) != nil
	})
}

func (mb *Mailbox) check(write bool) error {
	if mb.closed {
		return store.ErrClosed
	}
	if write && mb.ro {
		return store.ErrReadOnly
	}
	return nil
}

// statusOf computes the counters of a state.
func (h *hub) statusOf(st *state) store.MailboxStatus {
	ms := store.MailboxStatus{UIDValidity: st.uidValidity(), UIDNext: st.nextUID(), HighestModSeq: st.modseq, Messages: uint32(len(st.msgs))}
	// Messages no session has seen (IMAP STATUS RECENT).
	ms.Recent = uint32(len(st.msgs) - st.find(st.u32(hdrFirstRecentUID)))
	for i := range st.msgs {
		m := &st.msgs[i]
		if m.flags&flagSeen == 0 {
			ms.Unseen++
		}
		if m.flags&flagDeleted != 0 {
			ms.Deleted++
		}
		ms.Size += h.sizeOf(st.uidValidity(), m)
		if m.modseq > ms.HighestModSeq {
			ms.HighestModSeq = m.modseq
		}
	}
	if ms.HighestModSeq == 0 {
		ms.HighestModSeq = 1
	}
	return ms
}

// sizeOf is a message's RFC822.SIZE: Dovecot's vsize extension when it
// has it, else the file's V line (or the counted body).
func (h *hub) sizeOf(uv uint32, m *message) int64 {
	if m.vsize > 0 {
		return int64(m.vsize) - 1
	}
	if v := h.metaOf(uv, m.uid).VSize; v > 0 {
		return v
	}
	return 0
}

// Status implements store.Mailbox.
func (mb *Mailbox) Status(ctx context.Context) (store.MailboxStatus, error) {
	if err := mb.check(false); err != nil {
		return store.MailboxStatus{}, err
	}
	mb.initRecent(ctx)
	st := mb.h.statusOf(mb.view)
	st.Recent = mb.recentCount()
	return st, nil
}

// info fills a MessageInfo for m.
func (mb *Mailbox) info(m *message, mi *store.MessageInfo) {
	uv := mb.view.uidValidity()
	meta := mb.h.metaOf(uv, m.uid)
	*mi = store.MessageInfo{
		UID:          m.uid,
		Flags:        flagsOf(mb.view, m),
		ModSeq:       max(m.modseq, 1),
		InternalDate: meta.Received,
		SaveDate:     meta.SaveDate,
		Size:         mb.h.sizeOf(uv, m),
		GUID:         meta.GUID,
		Recent:       mb.isRecent(m.uid),
	}
}

// Messages implements store.Mailbox.
func (mb *Mailbox) Messages(ctx context.Context, uids store.UIDSet, fn func(*store.MessageInfo) error) error {
	if err := mb.check(false); err != nil {
		return err
	}
	mb.initRecent(ctx)
	var mi store.MessageInfo
	visit := func(i int) error {
		mb.info(&mb.view.msgs[i], &mi)
		return fn(&mi)
	}
	if uids == nil {
		defer mb.flushMeta(1)
		for i := range mb.view.msgs {
			if err := visit(i); err != nil {
				return err
			}
			if i%1024 == 1023 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	}
	defer mb.flushMeta(256)
	for _, i := range mb.view.indexes(uids) {
		if err := visit(i); err != nil {
			return err
		}
	}
	return nil
}

// indexes returns the positions of the messages whose UIDs are in uids,
// ascending.
func (s *state) indexes(uids store.UIDSet) []int {
	var out []int
	if uids == nil {
		out = make([]int, len(s.msgs))
		for i := range out {
			out[i] = i
		}
		return out
	}
	sorted := true
	for k := 1; k < len(uids); k++ {
		if uids[k].Start <= uids[k-1].Stop {
			sorted = false
		}
	}
	if !sorted {
		for i := range s.msgs {
			if uids.Contains(s.msgs[i].uid) {
				out = append(out, i)
			}
		}
		return out
	}
	for _, r := range uids {
		for i := s.find(r.Start); i < len(s.msgs) && s.msgs[i].uid <= r.Stop; i++ {
			out = append(out, i)
		}
	}
	return out
}

// flagsOf converts a message's index flags and keywords.
func flagsOf(st *state, m *message) store.Flags {
	var f store.Flags
	for _, p := range flagPairs {
		if m.flags&p.bit != 0 {
			f.System |= p.sys
		}
	}
	f.Keywords = st.keywordNames(m)
	return f
}

var flagPairs = []struct {
	bit uint8
	sys store.SystemFlags
}{{flagAnswered, store.Answered}, {flagFlagged, store.Flagged}, {flagDeleted, store.Deleted}, {flagSeen, store.Seen}, {flagDraft, store.Draft}}

// indexFlags converts system flags to Dovecot's index bits.
func indexFlags(s store.SystemFlags) uint8 {
	var b uint8
	for _, p := range flagPairs {
		if s&p.sys != 0 {
			b |= p.bit
		}
	}
	return b
}

// msgReader is a message's body inside its u.N file.
type msgReader struct {
	*io.SectionReader
	f *os.File
}

func (r *msgReader) Close() error { return r.f.Close() }

// Open implements store.Mailbox.
func (mb *Mailbox) Open(ctx context.Context, uid uint32) (store.MessageReader, error) {
	if err := mb.check(false); err != nil {
		return nil, err
	}
	if mb.view.lookup(uid) == nil {
		return nil, fmt.Errorf("sdbox: UID %d: %w", uid, store.ErrNoSuchMessage)
	}
	f, err := os.Open(mb.h.filePath(uid))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sdbox: UID %d: file gone: %w", uid, store.ErrNoSuchMessage)
		}
		return nil, fmt.Errorf("sdbox: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sdbox: %w", err)
	}
	m, err := readMeta(f, fi.Size())
	if err != nil {
		f.Close()
		mb.s.opts.logger().Warn("sdbox: damaged message file", "file", f.Name(), "err", err)
		return nil, fmt.Errorf("sdbox: UID %d: %w", uid, err)
	}
	return &msgReader{SectionReader: io.NewSectionReader(f, m.Layout.BodyOffset, m.Layout.BodySize), f: f}, nil
}

// Poll implements store.Mailbox.
func (mb *Mailbox) Poll(ctx context.Context) ([]store.Change, error) {
	if err := mb.check(false); err != nil {
		return nil, err
	}
	if mb.gone != 0 {
		return nil, store.ErrMailboxGone
	}
	if !isDir(mb.h.dir) {
		mb.gone = store.ChangeDeleted
		return []store.Change{{Kind: store.ChangeDeleted}}, nil
	}
	f, err := os.Open(filepath.Join(mb.h.dir, logName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return mb.reload()
		}
		return nil, fmt.Errorf("sdbox: %w", err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("sdbox: %w", err)
	}
	hb := make([]byte, logHeaderSize)
	n, _ := f.ReadAt(hb, 0)
	lh, herr := parseLogHeader(hb[:n])
	if herr != nil || st.Ino != mb.ino || lh.FileSeq != mb.pos.seq || st.Size < int64(mb.pos.off) {
		return mb.reload()
	}
	if st.Size == int64(mb.pos.off) {
		return nil, nil
	}
	if st.Size-int64(mb.pos.off) > maxLogSize {
		return mb.reload()
	}
	buf := make([]byte, st.Size-int64(mb.pos.off))
	n, err = f.ReadAt(buf, int64(mb.pos.off))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("sdbox: %w", err)
	}
	var changes []store.Change
	mb.view.modseq = mb.pos.modseq
	emit := func(kind int, uid uint32) {
		changes = append(changes, mb.change(kind, uid))
	}
	end, derr := walkLog(buf[:n], mb.pos.off, mb.pos.off, func(r logRecord) error {
		if mb.isOwn(r.Off) {
			mb.view.apply(r, nil)
		} else {
			mb.view.apply(r, emit)
		}
		return nil
	})
	// A message another session changed and this one then changed again
	// is reported with its final flags.
	last := map[uint32]int{}
	for i, c := range changes {
		last[c.UID] = i
	}
	var again []uint32
	for uid, i := range last {
		if changes[i].Kind == store.ChangeExpunge {
			continue
		}
		if m := mb.view.lookup(uid); m != nil && (!changes[i].Message.Flags.Equal(flagsOf(mb.view, m)) || changes[i].Message.ModSeq != max(m.modseq, 1)) {
			again = append(again, uid)
		}
	}
	slices.Sort(again)
	for _, uid := range again {
		changes = append(changes, mb.change(evFlags, uid))
	}
	var keep []ownRange
	for _, o := range mb.own {
		if o.seq == mb.pos.seq && o.end > end {
			keep = append(keep, o)
		}
	}
	mb.own = keep
	if derr != nil {
		mb.s.opts.logger().Warn("sdbox: damaged transaction log", "mailbox", mb.name, "err", derr)
	}
	mb.pos.off, mb.pos.modseq = end, mb.view.modseq
	if mb.recentInit {
		mb.claimRecent(ctx)
	}
	mb.fillNew(changes)
	for i := range changes {
		if changes[i].Kind == store.ChangeNew {
			changes[i].Message.Recent = mb.isRecent(changes[i].UID)
		}
	}
	return changes, nil
}

// change records one event of a replay with the message as it is now.
func (mb *Mailbox) change(kind int, uid uint32) store.Change {
	c := store.Change{UID: uid}
	switch kind {
	case evNew:
		c.Kind = store.ChangeNew
	case evFlags:
		c.Kind = store.ChangeFlags
	default:
		c.Kind = store.ChangeExpunge
		return c
	}
	if m := mb.view.lookup(uid); m != nil {
		c.Message = store.MessageInfo{UID: uid, Flags: flagsOf(mb.view, m), ModSeq: max(m.modseq, 1)}
	}
	return c
}

// fillNew completes the MessageInfo of new messages and flag changes
// from their files.
func (mb *Mailbox) fillNew(changes []store.Change) {
	uv := mb.view.uidValidity()
	for i := range changes {
		c := &changes[i]
		if c.Kind != store.ChangeNew && c.Kind != store.ChangeFlags {
			continue
		}
		meta := mb.h.metaOf(uv, c.UID)
		c.Message.InternalDate, c.Message.SaveDate, c.Message.GUID = meta.Received, meta.SaveDate, meta.GUID
		if m := mb.view.lookup(c.UID); m != nil {
			c.Message.Size = mb.h.sizeOf(uv, m)
		} else if meta.VSize > 0 {
			c.Message.Size = meta.VSize
		}
	}
}

// reload reads the mailbox again (the log was rotated or replaced) and
// reports the difference from the view.
func (mb *Mailbox) reload() ([]store.Change, error) {
	l, err := loadState(mb.h.dir)
	if err != nil {
		if !isDir(mb.h.dir) {
			mb.gone = store.ChangeDeleted
			return []store.Change{{Kind: store.ChangeDeleted}}, nil
		}
		return nil, fmt.Errorf("sdbox: %w", err)
	}
	old := mb.view
	if l.st.uidValidity() != old.uidValidity() {
		mb.gone = store.ChangeUIDValidity
		return []store.Change{{Kind: store.ChangeUIDValidity}}, nil
	}
	mb.view, mb.pos, mb.ino, mb.own = l.st, l.pos, l.ino, nil
	var changes []store.Change
	i, j := 0, 0
	for i < len(old.msgs) || j < len(l.st.msgs) {
		switch {
		case j >= len(l.st.msgs) || (i < len(old.msgs) && old.msgs[i].uid < l.st.msgs[j].uid):
			changes = append(changes, store.Change{Kind: store.ChangeExpunge, UID: old.msgs[i].uid})
			i++
		case i >= len(old.msgs) || l.st.msgs[j].uid < old.msgs[i].uid:
			changes = append(changes, mb.change(evNew, l.st.msgs[j].uid))
			j++
		default:
			if !flagsOf(old, &old.msgs[i]).Equal(flagsOf(l.st, &l.st.msgs[j])) {
				changes = append(changes, mb.change(evFlags, l.st.msgs[j].uid))
			}
			i++
			j++
		}
	}
	mb.fillNew(changes)
	return changes, nil
}

// applyOwn applies a transaction this handle wrote at log offset off,
// whose records start at modseq counter ms, to the view.
func (mb *Mailbox) applyOwn(t *txn, data []byte, off int, ms uint64) {
	mb.ownCommitted(t.seq, t.ino, off, data, ms, t.onlyOwn && off == t.end)
}

// ownCommitted applies a transaction this handle wrote to its view.
// With caughtUp (nothing but the handle's own records lay between its
// position and the transaction) the position moves past it; otherwise
// it is remembered as its own for the next Poll.
func (mb *Mailbox) ownCommitted(seq uint32, ino uint64, off int, data []byte, ms uint64, caughtUp bool) {
	same := ino == mb.ino && seq == mb.pos.seq
	mb.view.modseq = ms
	walkLog(data, off, off, func(r logRecord) error {
		mb.view.apply(r, nil)
		return nil
	})
	switch {
	case same && caughtUp:
		mb.pos = logPos{seq: seq, off: off + len(data), modseq: mb.view.modseq}
		mb.own = nil
	case same:
		mb.own = append(mb.own, ownRange{seq: seq, start: off, end: off + len(data)})
	}
}

// ownUpToDate reports whether a transaction's tip is the same mailbox as
// the view (it was not replaced meanwhile).
func (mb *Mailbox) sameMailbox(t *txn) bool {
	return mb.gone == 0 && t.tip.uidValidity() == mb.view.uidValidity()
}

// load reads a mailbox, giving it a log first when it has neither log
// nor index (a dbox-Mails directory someone else just made).
func (s *Store) load(md string) (*loaded, error) {
	l, err := loadState(md)
	if errors.Is(err, os.ErrNotExist) && isDir(md) {
		if err := s.ensureLog(md); err != nil {
			return nil, err
		}
		l, err = loadState(md)
	}
	return l, err
}
