package mbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/yubinmail/yubin/store"
)

// msg is what yubin keeps about one message. Records are immutable once
// published in box.msgs; a change makes a new record.
type msg struct {
	uid    uint32
	flags  store.Flags
	modseq uint64
	date   int64 // internal date, Unix seconds
	vsize  int64
	digest uint64  // of the content, for the GUID (guid.go)
	raw    *rawMsg // where it is in the current file (changed under box.mu)
}

// event is one entry of a mailbox's change log.
type event struct {
	kind   store.ChangeKind
	uid    uint32
	m      *msg
	origin *handle
}

// fileRef is an open descriptor of one version (inode) of the mbox file,
// shared by the box and the readers opened on it.
type fileRef struct {
	f    *os.File
	refs atomic.Int32

	// Readers hold an fcntl read lock on f while they read (Dovecot's
	// mbox_read_locks = fcntl), so that they never read a file another
	// program is rewriting in place; readers counts them.
	lmu     sync.Mutex
	readers int
	noLock  bool // the caller holds the lock itself
}

// rlock takes the read lock for one more reader, waiting for a writer
// to finish (at most the lock timeout).
func (r *fileRef) rlock() error {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	if r.noLock {
		return nil
	}
	if r.readers == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), defaultLockTimeout)
		defer cancel()
		if err := fcntlLock(ctx, r.f, unix.F_RDLCK); err != nil {
			return err
		}
	}
	r.readers++
	return nil
}

func (r *fileRef) runlock() {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	if r.noLock {
		return
	}
	if r.readers--; r.readers == 0 {
		fcntlUnlock(r.f)
	}
}

func newFileRef(f *os.File) *fileRef {
	r := &fileRef{f: f}
	r.refs.Store(1)
	return r
}

func (r *fileRef) acquire() *fileRef {
	r.refs.Add(1)
	return r
}

func (r *fileRef) release() {
	if r != nil && r.refs.Add(-1) == 0 {
		r.f.Close()
	}
}

// fileIdent tells whether the file changed since it was last read.
type fileIdent struct {
	dev, ino uint64
	size     int64
	mtime    int64
	ctime    int64
}

func identOf(fi os.FileInfo) fileIdent {
	st, _ := fi.Sys().(*syscall.Stat_t)
	id := fileIdent{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st != nil {
		id.dev, id.ino = uint64(st.Dev), st.Ino
		id.ctime = st.Ctim.Nano()
	}
	return id
}

// box is the state of one mailbox shared by every handle of a Store.
type box struct {
	s    *Store
	name string
	path string

	mu            sync.Mutex
	loaded        bool
	gone          bool
	uidValidity   uint32
	nextUID       uint32
	highest       uint64
	msgs          []*msg // ascending UID
	prefixEnd     int64
	pseudo        bool  // the file starts with a UW-IMAP/Dovecot pseudo message
	baseDigitsOff int64 // X-IMAPbase's 10-digit UID field, -1 if none
	baseLastUID   uint32
	baseKeywords  []string // X-IMAPbase's keyword list
	needWrite     bool     // UIDs or X-IMAPbase missing from the file
	ident         fileIdent
	rf            *fileRef
	lockedNew     *os.File // a rewritten file write-locked until writeLocked ends
	fullReads     int      // passes over the whole file (for tests)
	retired       []retiredFile
	rg            replicaGUIDs // replica.go
	discovered    bool         // recovery links looked for (salvage.go)

	events    []event
	evBase    int // absolute index of events[0]
	handles   map[*handle]struct{}
	stopWatch chan struct{}
}

func newBox(s *Store, name, path string) *box {
	return &box{s: s, name: name, path: path, baseDigitsOff: -1, handles: map[*handle]struct{}{}}
}

func (b *box) lockCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.s.opts.lockTimeout())
}

// markGone records that the mailbox was deleted or renamed away.
func (b *box) markGone() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.markGoneLocked()
}

func (b *box) markGoneLocked() {
	if b.gone {
		return
	}
	b.gone = true
	b.addEvent(event{kind: store.ChangeDeleted})
	if b.stopWatch != nil {
		close(b.stopWatch)
		b.stopWatch = nil
	}
	b.rf.release()
	b.rf = nil
}

// addEvent appends to the change log and wakes the handles (other than
// the origin).
func (b *box) addEvent(e event) {
	b.events = append(b.events, e)
	for h := range b.handles {
		if h != e.origin {
			h.signal()
		}
	}
}

// trimEvents drops the events every handle has seen.
func (b *box) trimEvents() {
	minPos := b.evBase + len(b.events)
	for h := range b.handles {
		minPos = min(minPos, h.pos)
	}
	if drop := minPos - b.evBase; drop > 0 {
		b.events = append(b.events[:0:0], b.events[drop:]...)
		b.evBase = minPos
	}
}

// find returns the current record of uid.
func (b *box) find(uid uint32) *msg {
	i := sort.Search(len(b.msgs), func(i int) bool { return b.msgs[i].uid >= uid })
	if i < len(b.msgs) && b.msgs[i].uid == uid {
		return b.msgs[i]
	}
	return nil
}

// sync brings the box up to date with the file (b.mu held). It reads the
// file again only when its identity (inode, size, times) changed, under
// an fcntl read lock, and writes missing UIDs into it when needed.
func (b *box) sync(ctx context.Context) error {
	if b.gone {
		return fmt.Errorf("mbox: %q: %w", b.name, store.ErrMailboxGone)
	}
	if !b.loaded && !b.discovered {
		// Replaced files a stopped yubin (or another process) watched.
		b.discovered = true
		b.discoverReplaced()
	}
	if len(b.retired) > 0 {
		b.salvage(ctx)
	}
	fi, err := os.Stat(b.path)
	if errors.Is(err, os.ErrNotExist) && b.name == store.Inbox {
		if f, cerr := os.OpenFile(b.path, os.O_CREATE|os.O_WRONLY, 0o600); cerr == nil {
			f.Close()
			fi, err = os.Stat(b.path)
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		b.markGoneLocked()
		return fmt.Errorf("mbox: %q: %w", b.name, store.ErrMailboxGone)
	}
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	if b.loaded && identOf(fi) == b.ident && !b.needWrite {
		return nil
	}
	if !b.loaded || identOf(fi) != b.ident {
		f, err := os.Open(b.path)
		if err != nil {
			return fmt.Errorf("mbox: %w", err)
		}
		ref := newFileRef(f)
		defer ref.release()
		lctx, cancel := b.lockCtx(ctx)
		err = fcntlLock(lctx, f, unix.F_RDLCK)
		cancel()
		if err != nil {
			return err
		}
		err = b.refreshLocked(ref)
		fcntlUnlock(f)
		if err != nil {
			return err
		}
	}
	if b.needWrite {
		err := b.writeLocked(ctx, func(f *os.File) error {
			if !b.needWrite {
				return nil
			}
			return b.rewrite(f, b.msgs)
		})
		if err != nil {
			// A read-only spool: the UIDs stay in memory.
			b.s.log.Warn("mbox: cannot write UIDs into the file", "mailbox", b.name, "err", err)
			b.needWrite = false
		}
	}
	return nil
}

// readLocked parses the file behind ref (locked by the caller) and merges
// it into the box.
func (b *box) readLocked(ref *fileRef) error {
	fi, err := ref.f.Stat()
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	b.fullReads++
	res, err := parseFile(ref.f, fi.Size())
	if err != nil {
		return fmt.Errorf("mbox: reading %s: %w", b.path, err)
	}
	for _, d := range res.damage {
		b.s.log.Warn("mbox: damaged mailbox file", "mailbox", b.name, "path", b.path, "damage", d)
	}
	b.merge(res, fi)
	b.rf.release()
	b.rf = ref.acquire()
	b.ident = identOf(fi)
	return nil
}

// merge reconciles the box with a fresh parse of the file.
func (b *box) merge(res *parseResult, fi os.FileInfo) {
	raws, metas := res.msgs, res.metas
	var fileUV, fileLast uint32
	b.pseudo = false
	b.baseDigitsOff = -1
	b.baseKeywords = nil
	if len(raws) > 0 && res.base.uidValidity != 0 {
		fileUV, fileLast = res.base.uidValidity, res.base.lastUID
		b.baseDigitsOff, b.baseLastUID = res.base.digitsOff, fileLast
		b.baseKeywords = res.base.keywords
		if res.base.pseudo {
			b.pseudo = true
			b.baseDigitsOff = -1
			raws, metas = raws[1:], metas[1:]
		}
	}
	b.prefixEnd = res.prefixEnd
	first := !b.loaded
	var events []event
	if first {
		st, ok := b.s.readState(b.name)
		switch {
		case fileUV != 0:
			b.uidValidity = fileUV
		case ok:
			b.uidValidity = st.UIDValidity
		default:
			b.uidValidity = b.s.newUIDValidity()
		}
		b.nextUID = 1
		if fileUV != 0 {
			b.nextUID = fileLast + 1
		}
		b.highest = 1
		if ok && st.UIDValidity == b.uidValidity {
			b.nextUID = max(b.nextUID, st.NextUID)
			b.highest = st.ModSeq + 1
			if b.nextUID > st.NextUID {
				b.highest += uint64(b.nextUID - st.NextUID)
			}
		}
	} else if fileUV != 0 && fileUV != b.uidValidity {
		b.uidValidity = fileUV
		b.nextUID = fileLast + 1
		b.msgs = nil
		b.highest++
		events = append(events, event{kind: store.ChangeUIDValidity})
	}
	if fileUV != 0 && fileLast >= b.nextUID {
		b.nextUID = fileLast + 1
	}
	b.needWrite = fileUV == 0 && len(raws) > 0
	// X-UIDs must ascend in the file; the others get new UIDs.
	valid := make([]bool, len(raws))
	var last uint32
	for i := range raws {
		if u := metas[i].uid; u > last && u < 1<<31 {
			valid[i], last = true, u
			if u >= b.nextUID {
				b.nextUID = u + 1
			}
		}
	}
	if first {
		// The messages with a UID now keep GUIDs of UIDVALIDITY and UID
		// if the mailbox is older than the scheme (guid.go).
		b.initGUIDScheme(b.nextUID)
	}
	old := make(map[uint32]*msg, len(b.msgs))
	for _, m := range b.msgs {
		old[m.uid] = m
	}
	out := make([]*msg, 0, len(raws))
	var changed, added []*msg
	for i, r := range raws {
		uid := metas[i].uid
		if !valid[i] {
			uid = b.nextUID
			b.nextUID++
			b.needWrite = true
		}
		fl := metas[i].flags
		date := metas[i].date
		if date == 0 {
			date = fi.ModTime().Unix()
		}
		nm := &msg{uid: uid, flags: fl, date: date, vsize: r.vsize(), digest: metas[i].digest, raw: r}
		if om := old[uid]; om != nil {
			delete(old, uid)
			nm.modseq, nm.date = om.modseq, om.date
			if !fl.Equal(om.flags) {
				b.highest++
				nm.modseq = b.highest
				changed = append(changed, nm)
			} else {
				nm.flags = om.flags
			}
		} else if first {
			nm.modseq = b.highest
		} else {
			b.highest++
			nm.modseq = b.highest
			added = append(added, nm)
		}
		out = append(out, nm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	var gone []uint32
	for uid := range old {
		gone = append(gone, uid)
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	for _, uid := range gone {
		events = append(events, event{kind: store.ChangeExpunge, uid: uid})
	}
	for _, m := range changed {
		events = append(events, event{kind: store.ChangeFlags, uid: m.uid, m: m})
	}
	sort.Slice(added, func(i, j int) bool { return added[i].uid < added[j].uid })
	for _, m := range added {
		events = append(events, event{kind: store.ChangeNew, uid: m.uid, m: m})
	}
	if len(gone) > 0 {
		b.highest++
	}
	b.msgs = out
	b.loaded = true
	for _, e := range events {
		b.addEvent(e)
	}
	if len(events) > 0 || first {
		b.saveState()
	}
}

// saveState writes the box's UIDVALIDITY, next UID and HIGHESTMODSEQ.
func (b *box) saveState() {
	err := b.s.writeState(b.name, boxState{UIDValidity: b.uidValidity, NextUID: b.nextUID, ModSeq: b.highest})
	if err != nil {
		b.s.log.Warn("mbox: state file", "mailbox", b.name, "err", err)
	}
}

// writeLocked runs fn with the mailbox file open for writing under the
// dotlock and an fcntl write lock, after bringing the box up to date.
func (b *box) writeLocked(ctx context.Context, fn func(f *os.File) error) error {
	if b.gone {
		return fmt.Errorf("mbox: %q: %w", b.name, store.ErrMailboxGone)
	}
	lctx, cancel := b.lockCtx(ctx)
	defer cancel()
	flag := os.O_RDWR
	if b.name == store.Inbox {
		flag |= os.O_CREATE
	}
	f, ref, dl, err := b.lockForWrite(lctx, flag)
	if err != nil {
		return err
	}
	defer ref.release()
	defer fcntlUnlock(f)
	defer dl.release()
	defer func() {
		if b.lockedNew != nil {
			fcntlUnlock(b.lockedNew)
			b.lockedNew = nil
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	if !b.loaded || identOf(fi) != b.ident || b.rf == nil {
		if err := b.refreshLocked(ref); err != nil {
			return err
		}
	} else {
		// Keep reading through the descriptor we hold the lock on.
		b.rf.release()
		b.rf = ref.acquire()
	}
	return fn(f)
}

// lockForWrite opens the mailbox file and takes its write locks in
// Debian's mbox_write_locks order, fcntl then the dotlock, and makes
// sure the file locked is still the mailbox: one opened before another
// process replaced it (a rewrite by rename) is let go and the new one
// locked instead, so that nothing is ever written to a replaced file.
func (b *box) lockForWrite(ctx context.Context, flag int) (*os.File, *fileRef, *dotlock, error) {
	for {
		f, err := os.OpenFile(b.path, flag, 0o600)
		if errors.Is(err, os.ErrNotExist) {
			b.markGoneLocked()
			return nil, nil, nil, fmt.Errorf("mbox: %q: %w", b.name, store.ErrMailboxGone)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("mbox: %w", err)
		}
		ref := newFileRef(f)
		if err := fcntlLock(ctx, f, unix.F_WRLCK); err != nil {
			ref.release()
			return nil, nil, nil, err
		}
		dl, err := takeDotlock(ctx, b.path, b.s.host, b.s.opts.staleLockTimeout())
		if err != nil {
			fcntlUnlock(f)
			ref.release()
			return nil, nil, nil, err
		}
		var fst, pst syscall.Stat_t
		ferr := syscall.Fstat(int(f.Fd()), &fst)
		perr := syscall.Stat(b.path, &pst)
		if ferr == nil && perr == nil && fst.Ino == pst.Ino && fst.Dev == pst.Dev {
			return f, ref, dl, nil
		}
		dl.release()
		fcntlUnlock(f)
		ref.release()
		if perr != nil && !errors.Is(perr, os.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("mbox: %w", perr)
		}
	}
}

// fileChanged records the file's identity after a write through f.
func (b *box) fileChanged(f *os.File) {
	if fi, err := f.Stat(); err == nil {
		b.ident = identOf(fi)
	}
}
