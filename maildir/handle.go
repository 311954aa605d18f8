package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/store"
)

// handle is one session's store.Mailbox on a mbox.
type handle struct {
	m      *mbox
	ro     bool
	keep   bool     // store.OpenOptions.KeepRecent: \Recent is looked at, not taken
	view   []*msg   // as of the last Poll, plus this handle's own changes
	cur    *logNode // last change log entry read (nil once closed)
	notify chan struct{}
	recent store.UIDSet
	hms    uint64 // highest modseq this handle has seen
	next   uint32 // UIDNEXT as of the last Poll
	closed bool
}

var _ store.Mailbox = (*handle)(nil)

func (m *mbox) open(ctx context.Context, readOnly, keepRecent bool) (*handle, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(ctx, false); err != nil {
		return nil, err
	}
	h := &handle{m: m, ro: readOnly, keep: readOnly || keepRecent, notify: make(chan struct{}, 1)}
	h.view = append(make([]*msg, 0, len(m.msgs)), m.msgs...)
	h.cur = m.tail
	h.hms = m.highestModSeq
	h.next = m.nextUID
	if len(m.handles) == 0 {
		m.startWatch()
	}
	m.handles[h] = struct{}{}
	if !h.keep {
		h.claimRecent(h.view)
	} else {
		h.peekRecent(h.view)
	}
	return h, nil
}

// peekRecent makes the messages of msgs that no session claimed yet
// \Recent in a read-only handle without claiming them: IMAP EXAMINE
// shows them recent and leaves them recent for the next SELECT (RFC
// 3501 6.3.2), as Dovecot does.
func (h *handle) peekRecent(msgs []*msg) {
	for _, x := range msgs {
		if x.uid > h.m.recentUpTo {
			h.recent.Add(x.uid)
		}
	}
}

// claimRecent makes the messages of msgs not yet seen by any session
// \Recent in this handle and moves them from new/ to cur/, as Dovecot's
// first SELECT does.
func (h *handle) claimRecent(msgs []*msg) {
	m := h.m
	for _, x := range msgs {
		if x.uid <= m.recentUpTo {
			continue
		}
		h.recent.Add(x.uid)
		m.recentUpTo = x.uid
	}
	for _, x := range msgs {
		if !x.inNew {
			continue
		}
		i := findUID(m.msgs, x.uid)
		if i < 0 || !m.msgs[i].inNew {
			continue
		}
		x = m.msgs[i]
		fn := parseFileName(x.name)
		fn.HasInfo = true
		c := x.clone()
		c.name, c.inNew = fn.String(), false
		if err := m.renameMsg(x, c); err == nil {
			m.msgs[i] = c
		}
	}
}

func (h *handle) signal() {
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

func (h *handle) check() error {
	if h.closed {
		return store.ErrClosed
	}
	return nil
}

func (h *handle) writable() error {
	if h.closed {
		return store.ErrClosed
	}
	if h.ro {
		return store.ErrReadOnly
	}
	return nil
}

// Name implements store.Mailbox.
func (h *handle) Name() string { return h.m.name }

// Status implements store.Mailbox: the counters of the handle's view.
func (h *handle) Status(ctx context.Context) (store.MailboxStatus, error) {
	if err := h.check(); err != nil {
		return store.MailboxStatus{}, err
	}
	h.m.mu.Lock()
	uv := h.m.uidValidity
	h.m.mu.Unlock()
	st := store.MailboxStatus{UIDValidity: uv, UIDNext: h.next, HighestModSeq: h.hms, Messages: uint32(len(h.view))}
	for _, x := range h.view {
		if x.sys&store.Seen == 0 {
			st.Unseen++
		}
		if x.sys&store.Deleted != 0 {
			st.Deleted++
		}
		if h.recent.Contains(x.uid) && h.recent != nil {
			st.Recent++
		}
		st.Size += x.vsize
		if x.uid >= st.UIDNext {
			st.UIDNext = x.uid + 1
		}
	}
	return st, nil
}

// Messages implements store.Mailbox.
func (h *handle) Messages(ctx context.Context, uids store.UIDSet, fn func(*store.MessageInfo) error) error {
	if err := h.check(); err != nil {
		return err
	}
	kl := h.m.kw.Load()
	var mi store.MessageInfo
	// Keyword slices are shared between messages with the same letters
	// (the contract allows it).
	kwNames := map[uint32][]string{}
	visit := func(x *msg) error {
		var kws []string
		if x.kw != 0 {
			var ok bool
			if kws, ok = kwNames[x.kw]; !ok {
				kws = kl.names(x.kw)
				kwNames[x.kw] = kws
			}
		}
		mi = store.MessageInfo{UID: x.uid, Flags: store.Flags{System: x.sys, Keywords: kws}, ModSeq: x.modseq, Size: x.vsize, Recent: h.recent != nil && h.recent.Contains(x.uid)}
		base := x.base()
		mi.GUID, mi.FileName = base, base
		mi.InternalDate = h.m.internalDate(x)
		mi.SaveDate = saveTime(base)
		if mi.SaveDate.IsZero() {
			mi.SaveDate = mi.InternalDate
		}
		return fn(&mi)
	}
	if uids == nil {
		for i, x := range h.view {
			if i&1023 == 1023 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err := visit(x); err != nil {
				return err
			}
		}
		return nil
	}
	sorted := append(store.UIDSet(nil), uids...)
	var norm store.UIDSet
	for _, r := range sorted {
		norm.AddRange(r.Start, r.Stop)
	}
	for _, r := range norm {
		i := searchUID(h.view, r.Start)
		for ; i < len(h.view) && h.view[i].uid <= r.Stop; i++ {
			if err := visit(h.view[i]); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func searchUID(msgs []*msg, uid uint32) int {
	lo, hi := 0, len(msgs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if msgs[mid].uid < uid {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// internalDate returns the message's file mtime, stat'ing it once.
func (m *mbox) internalDate(x *msg) time.Time {
	if d := x.date.Load(); d != 0 {
		return time.Unix(0, d)
	}
	var fi os.FileInfo
	var err error
	for _, sub := range []string{x.sub(), "cur", "new"} {
		if fi, err = os.Stat(m.dir + "/" + sub + "/" + x.name); err == nil {
			break
		}
	}
	if err != nil {
		t := saveTime(x.base())
		if t.IsZero() {
			t = time.Now()
		}
		return t
	}
	x.date.Store(fi.ModTime().UnixNano())
	m.datesDirty.Store(true)
	return fi.ModTime()
}

// messageFile is a store.MessageReader over a message file's
// descriptor. It reads with pread(2) at its own offset and is not an
// *os.File: making one costs four fcntl calls and a failed poller
// registration (epoll_ctl), and closing it a poller unregistration, which
// was a sixth of a POP3 server's CPU time retrieving 10 KiB messages.
// Regular files never block on the poller anyway. Like *os.File, a
// messageFile that is dropped without Close closes its descriptor when
// it is garbage collected.
type messageFile struct {
	fd      int // -1 once closed
	off     int64
	size    int64
	cleanup runtime.Cleanup
}

// openMessageFile opens path for reading, with its size from fstat.
func openMessageFile(path string) (*messageFile, error) {
	return openMessageFileAt(unix.AT_FDCWD, path)
}

// openMessageFileAt opens name relative to the directory descriptor dfd
// (unix.AT_FDCWD: the working directory) for reading, with its size from
// fstat.
func openMessageFileAt(dfd int, name string) (*messageFile, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	f := &messageFile{fd: fd, size: st.Size}
	f.cleanup = runtime.AddCleanup(f, func(fd int) { unix.Close(fd) }, fd)
	return f, nil
}

// Size implements store.MessageReader.
func (f *messageFile) Size() int64 { return f.size }

// Read implements io.Reader.
func (f *messageFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt implements io.ReaderAt.
func (f *messageFile) ReadAt(p []byte, off int64) (int, error) {
	if f.fd < 0 {
		return 0, os.ErrClosed
	}
	if off < 0 {
		return 0, errors.New("maildir: negative offset")
	}
	total := 0
	for len(p) > 0 {
		n, err := unix.Pread(f.fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, &os.PathError{Op: "read", Path: "message", Err: err}
		}
		if n == 0 {
			return total, io.EOF
		}
		total += n
		off += int64(n)
		p = p[n:]
	}
	return total, nil
}

// Seek implements io.Seeker.
func (f *messageFile) Seek(offset int64, whence int) (int64, error) {
	if f.fd < 0 {
		return 0, os.ErrClosed
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, errors.New("maildir: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("maildir: negative offset")
	}
	f.off = offset
	return offset, nil
}

// Close implements io.Closer.
func (f *messageFile) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	f.cleanup.Stop()
	err := unix.Close(f.fd)
	f.fd = -1
	runtime.KeepAlive(f)
	if err != nil {
		return &os.PathError{Op: "close", Path: "message", Err: err}
	}
	return nil
}

// Open implements store.Mailbox.
func (h *handle) Open(ctx context.Context, uid uint32) (store.MessageReader, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	m := h.m
	for attempt := 0; ; attempt++ {
		m.mu.Lock()
		i := findUID(m.msgs, uid)
		if i < 0 {
			m.mu.Unlock()
			return nil, fmt.Errorf("maildir: uid %d: %w", uid, store.ErrNoSuchMessage)
		}
		x := m.msgs[i]
		m.openDirsLocked()
		m.mu.Unlock()
		f, err := m.openMessage(x)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) || attempt > 0 {
			return nil, fmt.Errorf("maildir: open uid %d: %w", uid, err)
		}
		// Renamed by someone else (a flag change): find it again.
		m.mu.Lock()
		err = m.syncLocked(ctx, true)
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// Poll implements store.Mailbox.
func (h *handle) Poll(ctx context.Context) ([]store.Change, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	m := h.m
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.syncLocked(ctx, false)
	if err != nil && !errors.Is(err, store.ErrMailboxGone) {
		return nil, err
	}
	changes := h.catchUp()
	h.next = m.nextUID
	return changes, nil
}

// catchUp applies the log entries the handle has not seen to its view
// and returns the changes others made (m.mu held).
func (h *handle) catchUp() []store.Change {
	m := h.m
	var out []store.Change
	var fresh []*msg
	for n := h.cur.next; n != nil; n = n.next {
		h.cur = n
		ev := &n.ev
		if ev.modseq > h.hms {
			h.hms = ev.modseq
		}
		if ev.origin == h {
			continue
		}
		switch ev.kind {
		case store.ChangeNew:
			if findUID(h.view, ev.uid) >= 0 {
				continue
			}
			h.view = insertMsg(h.view, ev.m)
			fresh = append(fresh, ev.m)
			if ev.uid > m.recentUpTo {
				h.recent.Add(ev.uid)
				if !h.keep {
					m.recentUpTo = ev.uid
				}
			}
			out = append(out, store.Change{Kind: ev.kind, UID: ev.uid, Message: h.nodeInfo(n)})
		case store.ChangeFlags:
			i := findUID(h.view, ev.uid)
			if i < 0 || h.view[i].modseq >= ev.m.modseq {
				continue
			}
			h.view[i] = ev.m
			out = append(out, store.Change{Kind: ev.kind, UID: ev.uid, Message: h.nodeInfo(n)})
		case store.ChangeExpunge:
			var ok bool
			if h.view, ok = removeMsg(h.view, ev.uid); ok {
				out = append(out, store.Change{Kind: ev.kind, UID: ev.uid})
			}
		case store.ChangeUIDValidity:
			h.view = nil
			h.recent = nil
			out = append(out, store.Change{Kind: ev.kind})
		case store.ChangeDeleted:
			h.view = nil
			out = append(out, store.Change{Kind: ev.kind})
		}
	}
	if !h.keep && len(fresh) > 0 {
		h.claimRecent(fresh)
	}
	return out
}

// nodeInfo returns the MessageInfo of a ChangeNew or ChangeFlags log
// entry as this handle reports it. The part every handle shares is made
// once, by the first handle that reads the entry (m.mu held), so that a
// change reaching many handles costs little per handle; the Keywords
// slice is shared by them.
func (h *handle) nodeInfo(n *logNode) store.MessageInfo {
	if n.info == nil {
		x := n.ev.m
		base := x.base()
		mi := &store.MessageInfo{UID: x.uid, Flags: store.Flags{System: x.sys, Keywords: h.m.kw.Load().names(x.kw)}, ModSeq: x.modseq, Size: x.vsize, GUID: base, FileName: base}
		mi.InternalDate = h.m.internalDate(x)
		mi.SaveDate = saveTime(base)
		if mi.SaveDate.IsZero() {
			mi.SaveDate = mi.InternalDate
		}
		n.info = mi
	}
	mi := *n.info
	mi.Recent = h.recent != nil && h.recent.Contains(mi.UID)
	return mi
}

// Notify implements store.Mailbox.
func (h *handle) Notify() <-chan struct{} { return h.notify }

// Close implements store.Mailbox.
func (h *handle) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	m := h.m
	m.mu.Lock()
	delete(m.handles, h)
	h.cur = nil // lets the log entries it had not read go
	// A close writes the index at most every closeFlushInterval unless
	// sessions claimed \Recent messages since (other Stores and
	// processes learn that from the index); the next close after it,
	// or the Store's Close, writes what is left. Otherwise the index is
	// a cache whose lag costs no correctness: loadFromIndex gives a
	// message whose flags differ from it a new modseq, and the modseq
	// reservation is written durably by reserveModSeq. On a busy
	// mailbox this spares a rewrite and fsync of the whole index per
	// session.
	later := m.recentUpTo == m.indexRecent && time.Since(m.indexWritten) < closeFlushInterval
	if len(m.handles) == 0 {
		m.stopWatch()
		m.closeDirsLocked()
	}
	m.mu.Unlock()
	if !later {
		m.flushCache(false)
	}
	return nil
}

// closeFlushInterval is how often, at most, closing a handle rewrites
// its mailbox's index.
const closeFlushInterval = time.Second
