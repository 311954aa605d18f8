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
	"strconv"
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

// deliver writes r to tmp/, syncs it, renames it into new/ (or cur/ when
// it has flags) under dovecot-uidlist.lock, gives it the next UID and
// appends the uidlist record, then syncs the directory.
func (m *mbox) deliver(ctx context.Context, r io.Reader, opts store.AppendOptions, origin *handle) (store.AppendResult, error) {
	s := m.s
	date := opts.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	var kwMask uint32
	if len(opts.Flags.Keywords) > 0 {
		var err error
		if kwMask, err = m.keywordMask(ctx, opts.Flags.Keywords); err != nil {
			return store.AppendResult{}, err
		}
	}
	now := time.Now()
	base := s.uniqueBase(now)
	tmp := filepath.Join(m.dir, "tmp", base)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err = s.makeMaildir(m.dir); err == nil {
			f, err = os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		}
	}
	if err != nil {
		if !isDir(m.dir) {
			return store.AppendResult{}, fmt.Errorf("maildir: %s: %w", m.name, store.ErrNoSuchMailbox)
		}
		return store.AppendResult{}, fmt.Errorf("maildir: create %s: %w", tmp, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	var cnt sizeCounter
	bw := bufio.NewWriterSize(f, 64<<10)
	_, err = io.Copy(&limitWriter{w: io.MultiWriter(bw, &cnt), max: s.opts.MaxMessageSize}, r)
	if errors.Is(err, errTooBig) {
		return store.AppendResult{}, fmt.Errorf("maildir: message over %d bytes: %w", s.opts.MaxMessageSize, store.ErrTooBig)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && !s.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return store.AppendResult{}, fmt.Errorf("maildir: write message: %w", err)
	}
	s.chown(tmp)
	if err := os.Chtimes(tmp, date, date); err != nil {
		return store.AppendResult{}, fmt.Errorf("maildir: %w", err)
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

	res, err := m.commit(ctx, []staged{{from: tmp, x: x}}, origin, true)
	if err != nil {
		return store.AppendResult{}, err
	}
	ok = true
	s.quotaDelta(cnt.size, 1)
	return store.AppendResult{UIDValidity: res.uidValidity, UID: res.uids[0]}, nil
}

// staged is a file ready to be renamed into a mailbox as message x.
type staged struct {
	from string // current path (tmp/ of this mailbox, or another mailbox's file for a move)
	x    *msg
}

type commitResult struct {
	uidValidity uint32
	uids        []uint32 // 0 for a file that could not be moved in
}

// commit renames staged files into new/ or cur/ and gives them UIDs,
// under m.mu and dovecot-uidlist.lock, then syncs the directories and the
// uidlist. Handles see ChangeNew (origin excepted). With mustAll, any
// failed rename is an error; otherwise it leaves a 0 UID.
func (m *mbox) commit(ctx context.Context, files []staged, origin *handle, mustAll bool) (commitResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.commitLocked(ctx, files, origin, mustAll)
}

func (m *mbox) commitLocked(ctx context.Context, files []staged, origin *handle, mustAll bool) (commitResult, error) {
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
	res := commitResult{uidValidity: m.uidValidity, uids: make([]uint32, len(files))}
	var recs []byte
	var added []*msg
	dirs := map[string]bool{}
	for i, f := range files {
		x := f.x
		m.noteOwn(x)
		if err := os.Rename(f.from, m.path(x)); err != nil {
			if mustAll {
				return commitResult{}, fmt.Errorf("maildir: %w", err)
			}
			continue
		}
		dirs[x.sub()] = true
		x.uid = m.nextUID
		m.nextUID++
		res.uids[i] = x.uid
		recs = appendUIDRecord(recs, uidRecord{UID: x.uid, Base: x.base()})
		added = append(added, x)
	}
	for d := range dirs {
		if err := m.s.syncDir(filepath.Join(m.dir, d)); err != nil {
			return commitResult{}, fmt.Errorf("maildir: sync dir: %w", err)
		}
	}
	if rewrite {
		err = m.rewriteUIDList(added)
	} else if len(recs) > 0 {
		err = m.appendUIDList(recs)
	}
	if err != nil {
		return commitResult{}, err
	}
	for _, x := range added {
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
