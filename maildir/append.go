package maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/yubinmail/yubin/store"
)

// sizeCounter counts bytes written and the size with every bare LF
// counted as CRLF.
type sizeCounter struct {
	size, vsize int64
	prevCR      bool
}

func (c *sizeCounter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.size += int64(len(p))
	c.vsize += int64(len(p))
	prev := c.prevCR
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		if (i == 0 && !prev) || (i > 0 && rest[i-1] != '\r') {
			c.vsize++
		}
		prev = false
		rest = rest[i+1:]
	}
	c.prevCR = p[len(p)-1] == '\r'
	return len(p), nil
}

// limitWriter fails once more than max bytes were written (max 0: no
// limit).
type limitWriter struct {
	w   io.Writer
	n   int64
	max int64
}

var errTooBig = errors.New("too big")

func (l *limitWriter) Write(p []byte) (int, error) {
	l.n += int64(len(p))
	if l.max > 0 && l.n > l.max {
		return 0, errTooBig
	}
	return l.w.Write(p)
}

// Append implements store.Mailbox.
func (h *handle) Append(ctx context.Context, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	if err := h.writable(); err != nil {
		return store.AppendResult{}, err
	}
	return h.m.deliver(ctx, r, opts, h)
}

// Deliver stores a message into the named mailbox (creating nothing) and
// returns its UID: the path of LMTP and local delivery, which need no
// session handle. Every open handle of the mailbox is notified.
func (s *Store) Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	m, err := s.box(mailbox)
	if err != nil {
		return store.AppendResult{}, err
	}
	return m.deliver(ctx, r, opts, nil)
}

// writerPool holds the 64 KiB buffers deliveries write their files
// through.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// deliver writes r to an unnamed file in tmp/ (or to tmp/<name>, see
// tmpfile.go) and syncs it, then, in a group commit under
// dovecot-uidlist.lock, links (renames) it into new/ (or cur/ when it has
// flags), gives it the next UID and appends the uidlist record, and syncs
// the directory and the uidlist.
func (m *mbox) deliver(ctx context.Context, r io.Reader, opts store.AppendOptions, origin *handle) (store.AppendResult, error) {
	s := m.s
	date := opts.InternalDate
	var kwMask uint32
	if len(opts.Flags.Keywords) > 0 {
		var err error
		if kwMask, err = m.keywordMask(ctx, opts.Flags.Keywords); err != nil {
			return store.AppendResult{}, err
		}
	}
	// A delivery's name carries the time the message was received, so
	// that UIDs follow arrival order (arrival.go).
	named := time.Now()
	if opts.LateUID && !date.IsZero() {
		named = date
	}
	base := s.uniqueBase(named)
	t, err := m.createMessageTemp(base)
	if err != nil {
		if !isDir(m.dir) {
			return store.AppendResult{}, fmt.Errorf("maildir: %s: %w", m.name, store.ErrNoSuchMailbox)
		}
		return store.AppendResult{}, fmt.Errorf("maildir: create a file in %s/tmp: %w", m.dir, err)
	}
	f := t.f
	defer func() { t.discard() }() // after a commit it only closes: the file has its name
	var cnt sizeCounter
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(f)
	_, err = io.Copy(&limitWriter{w: io.MultiWriter(bw, &cnt), max: s.opts.MaxMessageSize}, r)
	if errors.Is(err, errTooBig) {
		bw.Reset(nil)
		writerPool.Put(bw)
		return store.AppendResult{}, fmt.Errorf("maildir: message over %d bytes: %w", s.opts.MaxMessageSize, store.ErrTooBig)
	}
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	// Owner and mtime (the internal date) are set before the fsync, so
	// that it covers them too and the inode is not dirtied again. Without
	// a date given, the internal date is the mtime the last write left.
	if err == nil {
		t.chown(s)
		if date.IsZero() {
			var fi os.FileInfo
			if fi, err = f.Stat(); err == nil {
				date = fi.ModTime()
			}
		} else {
			err = t.setTimes(date)
		}
	}
	// With opts.NoSync the caller has a durable copy and calls
	// SyncDeliveries before it relies on this one (syncfs.go).
	noSync := opts.NoSync && !s.opts.NoSync
	var dev uint64
	if noSync && err == nil {
		dev, err = m.unsyncedDev()
	}
	if err == nil && !s.opts.NoSync && !noSync {
		err = f.Sync()
	}
	if err != nil {
		return store.AppendResult{}, fmt.Errorf("maildir: write message: %w", err)
	}
	if s.quotaEnabled() {
		q, err := s.Quota(ctx)
		if err != nil {
			return store.AppendResult{}, err
		}
		if q.Exceeds(cnt.size) {
			return store.AppendResult{}, fmt.Errorf("maildir: %w", store.ErrQuotaExceeded)
		}
	}
	fn := fileName{Base: base + ",S=" + strconv.FormatInt(cnt.size, 10) + ",W=" + strconv.FormatInt(cnt.vsize, 10), System: opts.Flags.System, Keywords: kwMask}
	fn.HasInfo = fn.System != 0 || fn.Keywords != 0
	x := &msg{sys: fn.System, kw: kwMask, name: fn.String(), inNew: !fn.HasInfo, size: cnt.size, vsize: cnt.vsize}
	x.date.Store(date.UnixNano())

	if opts.LateUID && kwMask == 0 && !m.watched() {
		if err := m.commitLate(t, x, noSync); err != nil {
			return store.AppendResult{}, err
		}
		if noSync {
			// Noted after the link, the file's last change: a
			// SyncDeliveries that takes the note starts its syncfs
			// after the link exists.
			m.noteUnsynced(dev)
		}
		t.path = ""
		s.quotaDelta(cnt.size, 1)
		return store.AppendResult{}, nil
	}
	if noSync {
		// The grouped commit syncs the directory; the file waits for
		// SyncDeliveries.
		m.noteUnsynced(dev)
	}
	uv, uid, err := m.commitGrouped(ctx, staged{temp: t, x: x, origin: origin})
	if err != nil {
		return store.AppendResult{}, err
	}
	if noSync {
		m.noteUnsynced(dev) // the file's data is not synced yet
	}
	t.path = "" // renamed: nothing for discard to remove
	s.quotaDelta(cnt.size, 1)
	return store.AppendResult{UIDValidity: uv, UID: uid}, nil
}

// staged is a file ready to be renamed into a mailbox as message x.
type staged struct {
	from   string      // current path (another mailbox's file for a copy or move)
	temp   messageTemp // or the file a delivery wrote
	x      *msg
	origin *handle // the handle that adds it, which hears no ChangeNew for it
	uid    uint32  // a UID chosen by the caller (ReplicaAppend), 0 for the next
}

type commitResult struct {
	uidValidity uint32
	uids        []uint32 // 0 for a file that could not be moved in
	errs        []error  // why, for those
}

// commitQueue gathers deliveries to one mailbox into group commits.
//
// Each delivery writes and fsyncs its own file in tmp/ without any lock;
// what is left (rename into new/, a UID, the dovecot-uidlist record, and
// the fsyncs of new/ and of dovecot-uidlist that make those durable) is
// serialised by the mailbox mutex and the uidlist dotlock. While one
// delivery does that, the deliveries that finish their files meanwhile
// queue up; the next of them to run commits the whole queue at once, so
// one fsync of new/ and one of dovecot-uidlist serve every message of the
// batch. No delivery returns before both fsyncs that cover it have
// completed, so a UID returned is as durable as with a commit of its own.
type commitQueue struct {
	mu   sync.Mutex
	cond sync.Cond // signalled when a batch is done
	busy bool      // a batch is being committed
	reqs []*commitReq
}

type commitReq struct {
	f    staged
	done bool
	uv   uint32
	uid  uint32
	err  error
}

// commitGrouped commits one delivered file, in a batch with the other
// deliveries waiting to commit to the same mailbox.
func (m *mbox) commitGrouped(ctx context.Context, f staged) (uv, uid uint32, err error) {
	q := &m.commits
	r := &commitReq{f: f}
	q.mu.Lock()
	if q.cond.L == nil {
		q.cond.L = &q.mu
	}
	q.reqs = append(q.reqs, r)
	for q.busy && !r.done {
		q.cond.Wait()
	}
	if r.done {
		q.mu.Unlock()
		return r.uv, r.uid, r.err
	}
	// This delivery commits the queue, its own included, in arrival
	// order (arrival.go).
	q.busy = true
	batch := q.reqs
	q.reqs = nil
	q.mu.Unlock()
	slices.SortStableFunc(batch, func(a, b *commitReq) int { return compareNames(a.f.x.name, b.f.x.name) })

	files := make([]staged, len(batch))
	for i, b := range batch {
		files[i] = b.f
	}
	// The batch carries other callers' messages: a cancelled context of
	// this one must not fail theirs (lock waits are bounded by
	// Options.LockTimeout).
	res, err := m.commit(context.WithoutCancel(ctx), files, false)

	q.mu.Lock()
	for i, b := range batch {
		switch {
		case err != nil:
			b.err = err
		case res.uids[i] == 0:
			b.err = res.errs[i]
		default:
			b.uv, b.uid = res.uidValidity, res.uids[i]
		}
		b.done = true
	}
	q.busy = false
	q.cond.Broadcast()
	q.mu.Unlock()
	return r.uv, r.uid, r.err
}

// commit renames staged files into new/ or cur/ and gives them UIDs,
// under m.mu and dovecot-uidlist.lock, then syncs the directories and the
// uidlist. Handles see ChangeNew (each file's origin excepted). With
// mustAll, any failed rename is an error; otherwise it leaves a 0 UID.
func (m *mbox) commit(ctx context.Context, files []staged, mustAll bool) (commitResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.commitLocked(ctx, files, mustAll)
}

func (m *mbox) commitLocked(ctx context.Context, files []staged, mustAll bool) (commitResult, error) {
	if err := m.ensureLoaded(ctx); err != nil {
		return commitResult{}, err
	}
	l, err := m.s.lock(ctx, filepath.Join(m.dir, "dovecot-uidlist.lock"))
	if err != nil {
		return commitResult{}, err
	}
	defer l.unlock()
	rewrite, err := m.readUIDList()
	if err != nil {
		return commitResult{}, err
	}
	res := commitResult{uidValidity: m.uidValidity, uids: make([]uint32, len(files)), errs: make([]error, len(files))}
	var recs []byte
	var added []staged
	var dirs []string
	for i, f := range files {
		x := f.x
		if f.uid != 0 {
			if f.uid < m.nextUID {
				err := fmt.Errorf("maildir: UID %d below UIDNEXT %d: %w", f.uid, m.nextUID, store.ErrUIDNotAvailable)
				if mustAll {
					return commitResult{}, err
				}
				res.errs[i] = err
				continue
			}
			m.nextUID = f.uid
		}
		m.noteOwn(x)
		var err error
		if f.temp.f != nil {
			err = f.temp.install(m.s, filepath.Join(m.dir, "tmp"), m.path(x))
		} else {
			err = os.Rename(f.from, m.path(x))
		}
		if err != nil {
			if mustAll {
				return commitResult{}, fmt.Errorf("maildir: %w", err)
			}
			res.errs[i] = fmt.Errorf("maildir: %w", err)
			continue
		}
		if !slices.Contains(dirs, x.sub()) {
			dirs = append(dirs, x.sub())
		}
		x.uid = m.nextUID
		m.nextUID++
		res.uids[i] = x.uid
		recs = appendUIDRecord(recs, uidRecord{UID: x.uid, Base: x.base()})
		added = append(added, f)
	}
	// The directories and the uidlist are independent: fsync them at
	// once (most file systems then need a single journal commit).
	var wg sync.WaitGroup
	dirErrs := make([]error, len(dirs))
	if !m.s.opts.NoSync {
		for i, d := range dirs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dirErrs[i] = m.s.syncDir(filepath.Join(m.dir, d))
			}()
		}
	}
	if rewrite {
		xs := make([]*msg, len(added))
		for i, f := range added {
			xs[i] = f.x
		}
		err = m.rewriteUIDList(xs)
	} else if len(recs) > 0 {
		err = m.appendUIDList(recs)
	}
	wg.Wait()
	if err != nil {
		return commitResult{}, err
	}
	if err := errors.Join(dirErrs...); err != nil {
		return commitResult{}, fmt.Errorf("maildir: sync dir: %w", err)
	}
	for _, f := range added {
		x, origin := f.x, f.origin
		x.modseq = m.nextModSeq()
		m.msgs = insertMsg(m.msgs, x)
		m.emit(event{kind: store.ChangeNew, uid: x.uid, m: x, modseq: x.modseq, origin: origin})
		if origin != nil {
			origin.view = insertMsg(origin.view, x)
			if x.modseq > origin.hms {
				origin.hms = x.modseq
			}
			if !origin.ro && x.uid > m.recentUpTo {
				origin.recent.Add(x.uid)
				m.recentUpTo = x.uid
			}
			if x.uid >= origin.next {
				origin.next = x.uid + 1
			}
		}
	}
	return res, nil
}

// keywordMask returns the letters of kws in this folder, giving new
// keywords letters in dovecot-keywords.
func (m *mbox) keywordMask(ctx context.Context, kws []string) (uint32, error) {
	for _, k := range kws {
		if !validKeyword(k) {
			return 0, fmt.Errorf("maildir: keyword %q: %w", k, store.ErrKeywordInvalid)
		}
	}
	kl := m.kw.Load()
	mask, missing := kl.mask(kws)
	if len(missing) == 0 {
		return mask, nil
	}
	nkl, err := m.s.addKeywords(ctx, m.dir, kws)
	if err != nil {
		return 0, err
	}
	m.kw.Store(&nkl)
	mask, _ = nkl.mask(kws)
	return mask, nil
}
