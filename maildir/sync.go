package maildir

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/yubinmail/yubin/store"
	"golang.org/x/sys/unix"
)

// dirtyWindow is how recent a directory mtime may be for yubin to still
// rescan it even when the mtime has not changed: mtimes advance in clock
// ticks, so two changes within one tick can share one.
const dirtyWindow = int64(2 * time.Second)

// tmpMaxAge is the age after which files left in tmp/ are deleted, as
// Dovecot does.
const tmpMaxAge = 36 * time.Hour

type fileEnt struct {
	name  string
	inNew bool
}

// stampFresh reports whether a directory whose mtime is mtime needs no
// rescan given the last one.
func stampFresh(st dirStamp, mtime int64) bool {
	return st.mtime == mtime && st.scanned-mtime > dirtyWindow
}

func dirMtime(p string) (int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return fi.ModTime().UnixNano(), nil
}

// syncLocked brings the shared state up to date with the disk: new
// files get UIDs (from dovecot-uidlist or newly assigned under its lock),
// vanished files are expunged, renamed files change flags. Changes are
// emitted to the handles with no origin. force rescans even when the
// directories look unchanged.
func (m *mbox) syncLocked(ctx context.Context, force bool) error {
	if m.gone {
		return fmt.Errorf("maildir: %s: %w", m.name, store.ErrMailboxGone)
	}
	if m.loaded && !force && m.inotifyActive && !m.extDirty {
		return nil
	}
	m.extDirty = false
	if !isDir(m.dir) {
		m.gone = true
		m.emit(event{kind: store.ChangeDeleted})
		return fmt.Errorf("maildir: %s: %w", m.name, store.ErrMailboxGone)
	}
	newM, err1 := dirMtime(filepath.Join(m.dir, "new"))
	curM, err2 := dirMtime(filepath.Join(m.dir, "cur"))
	_, err3 := os.Stat(filepath.Join(m.dir, "tmp"))
	if err1 != nil || err2 != nil || err3 != nil {
		if err := m.s.makeMaildir(m.dir); err != nil {
			return err
		}
		newM, _ = dirMtime(filepath.Join(m.dir, "new"))
		curM, _ = dirMtime(filepath.Join(m.dir, "cur"))
	}
	if m.loaded && !force && !m.uidlistChanged() && stampFresh(m.newStamp, newM) && stampFresh(m.curStamp, curM) {
		return nil
	}
	first := !m.loaded
	if first {
		m.loadCache()
		m.cleanTmp()
		if m.loadFromIndex(newM, curM) {
			m.loadedFromIndex = true
			m.setKeywords(m.s.readKeywords(m.dir))
			m.firstLoaded()
			return nil
		}
	}
	now := time.Now().UnixNano()
	rewrite, err := m.readUIDList()
	if err != nil {
		return err
	}
	if first && rewrite {
		m.recoverFromCache()
	}
	m.setKeywords(m.s.readKeywords(m.dir))

	// When cur/ has not changed since it was last listed (its stamp is
	// fresh) and the uidlist was not rewritten, only new/ can hold
	// changes (deliveries, which a watching session is told of at once):
	// list and match new/ alone, as Dovecot's maildir sync does, so that
	// a delivery into a big folder costs no walk of all its messages.
	var files []fileEnt
	partial := false
	if !first && !rewrite && stampFresh(m.curStamp, curM) {
		files, partial, err = m.listNewOnly()
		if err != nil {
			return err
		}
	}
	for attempt := 0; !partial; attempt++ {
		files, err = m.scanDirs()
		if err != nil {
			return err
		}
		if attempt > 0 || !m.missingAny(files) {
			break
		}
		// A file renamed while we read the directory may have been
		// missed: read once more before calling it expunged.
	}
	m.newStamp = dirStamp{mtime: newM, scanned: now}
	if !partial {
		m.curStamp = dirStamp{mtime: curM, scanned: now}
		m.fullScans++
	}

	// The messages the listing covers: all of them, or those in new/
	// (the others count as seen).
	seen := make([]bool, len(m.msgs))
	var known map[string]int
	if partial {
		known = map[string]int{}
		for i, x := range m.msgs {
			if x.inNew {
				known[x.base()] = i
			} else {
				seen[i] = true
			}
		}
	} else {
		known = make(map[string]int, len(m.msgs))
		for i, x := range m.msgs {
			known[x.base()] = i
		}
	}
	var added []*msg
	var unknown []fileEnt
	for _, f := range files {
		fn := parseFileName(f.name)
		if i, ok := known[fn.Base]; ok {
			if seen[i] {
				continue
			}
			x := m.msgs[i]
			if uid, ok := m.pending[fn.Base]; ok {
				delete(m.pending, fn.Base)
				if uid != x.uid {
					// Renumbered behind our back: the old UID is gone.
					added = append(added, m.newMsg(f, fn, uid))
					continue
				}
			}
			seen[i] = true
			if x.name != f.name || x.inNew != f.inNew {
				c := x.clone()
				c.name, c.inNew = f.name, f.inNew
				if fn.System != x.sys || fn.Keywords != x.kw {
					c.sys, c.kw = fn.System, fn.Keywords
					c.modseq = m.nextModSeq()
					m.msgs[i] = c
					m.emit(event{kind: store.ChangeFlags, uid: c.uid, m: c, modseq: c.modseq})
				} else {
					m.msgs[i] = c
				}
			}
			continue
		}
		if uid, ok := m.pending[fn.Base]; ok {
			delete(m.pending, fn.Base)
			added = append(added, m.newMsg(f, fn, uid))
			continue
		}
		unknown = append(unknown, f)
	}
	if partial && len(unknown) > 0 {
		unknown = m.dropKnownInCur(unknown)
	}
	if len(unknown) > 0 {
		unknown = dropDuplicates(unknown, added)
	}
	// Expunged: known messages whose files are gone.
	kept := m.msgs[:0:0]
	if len(m.msgs) > 0 {
		kept = make([]*msg, 0, len(m.msgs))
	}
	for i, x := range m.msgs {
		if seen[i] {
			kept = append(kept, x)
			continue
		}
		m.emit(event{kind: store.ChangeExpunge, uid: x.uid, modseq: m.nextModSeq()})
	}
	m.msgs = kept

	if len(unknown) > 0 || rewrite {
		sortByArrival(unknown)
		more, err := m.assignUIDs(ctx, unknown, added, rewrite)
		if err != nil {
			return err
		}
		added = append(added, more...)
	}
	// A keyword letter may have been given (dovecot-keywords written,
	// then the file renamed) after we read the table: read it again.
	var used uint32
	for _, x := range m.msgs {
		used |= x.kw
	}
	for _, x := range added {
		used |= x.kw
	}
	if used&^m.kw.Load().defined() != 0 {
		m.setKeywords(m.s.readKeywords(m.dir))
	}
	sortByUID(added)
	if first && len(m.msgs) == 0 {
		m.msgs = make([]*msg, 0, len(added))
	}
	for _, x := range added {
		if x.modseq == 0 && !first {
			x.modseq = m.nextModSeq()
		}
		if x.uid >= m.nextUID {
			m.nextUID = x.uid + 1
		}
		m.msgs = insertMsg(m.msgs, x)
		m.emit(event{kind: store.ChangeNew, uid: x.uid, m: x, modseq: x.modseq})
	}
	if first {
		m.firstLoaded()
	}
	if m.highestModSeq == 0 {
		m.highestModSeq = 1
	}
	if m.pendingBig {
		// Maps do not shrink, and the keys share the whole file's text:
		// keep only copies of what is left.
		small := make(map[string]uint32, len(m.pending))
		for b, u := range m.pending {
			small[strings.Clone(b)] = u
		}
		m.pending, m.pendingBig = small, false
	}
	return nil
}

// firstLoaded ends the first sync: messages still in new/ are \Recent,
// and modseqs, dates and \Recent state come from yubin-index (m.mu held).
func (m *mbox) firstLoaded() {
	m.loaded = true
	m.recentUpTo = 0
	if n := len(m.msgs); n > 0 {
		m.recentUpTo = m.msgs[n-1].uid
	}
	for _, x := range m.msgs {
		if x.inNew {
			m.recentUpTo = x.uid - 1
			break
		}
	}
	m.applyCache()
	if m.highestModSeq == 0 {
		m.highestModSeq = 1
	}
}

// setKeywords installs a keyword table read from dovecot-keywords (m.mu
// held). Dovecot renames a message file to carry a new keyword letter
// before it writes the letter's name into dovecot-keywords, so a sync can
// see the letter first: messages carrying letters the old table did not
// name are reported again (ChangeFlags, new modseq) once the names are
// known.
func (m *mbox) setKeywords(kl keywordList) {
	old := m.kw.Load()
	if kl == *old {
		return
	}
	m.kw.Store(&kl)
	gained := kl.defined() &^ old.defined()
	if gained == 0 || !m.loaded {
		return
	}
	for i, x := range m.msgs {
		if x.kw&gained != 0 {
			c := x.clone()
			c.modseq = m.nextModSeq()
			m.msgs[i] = c
			m.emit(event{kind: store.ChangeFlags, uid: c.uid, m: c, modseq: c.modseq})
		}
	}
}

// sortByUID sorts msgs by UID; dense UID ranges (a whole folder read at
// open) are placed by index instead of compared.
func sortByUID(msgs []*msg) {
	if len(msgs) < 1024 {
		slices.SortFunc(msgs, func(a, b *msg) int { return cmp.Compare(a.uid, b.uid) })
		return
	}
	lo, hi := msgs[0].uid, msgs[0].uid
	for _, x := range msgs {
		lo, hi = min(lo, x.uid), max(hi, x.uid)
	}
	span := int(hi-lo) + 1
	if span > 4*len(msgs) {
		slices.SortFunc(msgs, func(a, b *msg) int { return cmp.Compare(a.uid, b.uid) })
		return
	}
	slots := make([]*msg, span)
	for _, x := range msgs {
		slots[x.uid-lo] = x
	}
	out := msgs[:0]
	for _, x := range slots {
		if x != nil {
			out = append(out, x)
		}
	}
}

// dropDuplicates removes from unknown the files whose base name is
// already taken by another file (a message seen twice while it was moved
// from new/ to cur/, or a copy left by a crash): one UID per base name.
func dropDuplicates(unknown []fileEnt, added []*msg) []fileEnt {
	seen := make(map[string]bool, len(unknown))
	for _, x := range added {
		seen[x.base()] = true
	}
	out := unknown[:0]
	for _, f := range unknown {
		b := parseFileName(f.name).Base
		if !seen[b] {
			seen[b] = true
			out = append(out, f)
		}
	}
	return out
}

// missingAny reports whether a known message has no file in files.
func (m *mbox) missingAny(files []fileEnt) bool {
	if len(m.msgs) == 0 {
		return false
	}
	have := make(map[string]struct{}, len(files))
	for _, f := range files {
		have[parseFileName(f.name).Base] = struct{}{}
	}
	for _, x := range m.msgs {
		if _, ok := have[x.base()]; !ok {
			return true
		}
	}
	return false
}

// newMsg makes the record of a file seen for the first time.
func (m *mbox) newMsg(f fileEnt, fn fileName, uid uint32) *msg {
	x := &msg{uid: uid, sys: fn.System, kw: fn.Keywords, name: f.name, inNew: f.inNew, size: fn.Size, vsize: fn.VSize}
	if x.size < 0 || x.vsize < 0 {
		x.size, x.vsize = fileSizes(m.path(x))
	}
	return x
}

// fileSizes reads a file to find its physical size and its size with
// bare LFs counted as CRLF.
func fileSizes(path string) (int64, int64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	var c sizeCounter
	io.Copy(&c, bufio.NewReader(f))
	return c.size, c.vsize
}

// scanDirs lists new/ then cur/ (in that order, so a message moving from
// new to cur meanwhile is seen at least once).
func (m *mbox) scanDirs() ([]fileEnt, error) {
	newNames, err := readNames(filepath.Join(m.dir, "new"), true)
	if err != nil {
		return nil, fmt.Errorf("maildir: read new: %w", err)
	}
	curNames, err := readNames(filepath.Join(m.dir, "cur"), true)
	if err != nil {
		return nil, fmt.Errorf("maildir: read cur: %w", err)
	}
	out := make([]fileEnt, 0, len(newNames)+len(curNames))
	for _, n := range newNames {
		out = append(out, fileEnt{name: n, inNew: true})
	}
	for _, n := range curNames {
		out = append(out, fileEnt{name: n})
	}
	return out, nil
}

// cleanTmp removes files older than tmpMaxAge from tmp/, and the
// temporary files yubin writes next to the folder's own files (an
// atomic rewrite or a dotlock in progress, "<file>.<pid>.<n>.tmp") that a
// crash left behind.
func (m *mbox) cleanTmp() {
	ents, err := os.ReadDir(filepath.Join(m.dir, "tmp"))
	if err == nil {
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && !fi.IsDir() && time.Since(fi.ModTime()) > tmpMaxAge {
				os.Remove(filepath.Join(m.dir, "tmp", e.Name()))
			}
		}
	}
	ents, err = os.ReadDir(m.dir)
	if err != nil {
		return
	}
	ownPid := "." + strconv.Itoa(os.Getpid()) + "."
	for _, e := range ents {
		if !e.Type().IsRegular() || !isOwnTemp(e.Name()) {
			continue
		}
		if strings.Contains(e.Name(), ".lock"+ownPid) {
			continue // a lock source of this process (lock.go)
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > tmpMaxAge {
			os.Remove(filepath.Join(m.dir, e.Name()))
		}
	}
}

// ownTempPrefixes are the folder files yubin replaces or locks through
// "<name>.<pid>.<n>.tmp".
var ownTempPrefixes = []string{"dovecot-uidlist", "dovecot-keywords", "subscriptions", "maildirsize", indexFile, "yubin-special-use", "dovecot-uidvalidity"}

// isOwnTemp reports whether name is "<prefix>[.lock].<pid>.<n>.tmp" for
// one of ownTempPrefixes.
func isOwnTemp(name string) bool {
	rest, ok := strings.CutSuffix(name, ".tmp")
	if !ok {
		return false
	}
	for _, p := range ownTempPrefixes {
		r, ok := strings.CutPrefix(rest, p+".")
		if !ok {
			continue
		}
		r = strings.TrimPrefix(r, "lock.")
		pid, n, ok := strings.Cut(r, ".")
		if ok && isDigits(pid) && isDigits(n) {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// uidlistChanged reports whether dovecot-uidlist differs from what was
// last read.
func (m *mbox) uidlistChanged() bool {
	fi, err := os.Stat(filepath.Join(m.dir, "dovecot-uidlist"))
	if err != nil {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || st.Ino != m.ulIno || fi.Size() != m.ulOff
}

// readUIDList reads what is new in dovecot-uidlist: the tail when the
// file only grew, else the whole file. It reports whether the file must
// be (re)written: missing, damaged, or with a header yubin cannot use.
func (m *mbox) readUIDList() (rewrite bool, err error) {
	path := filepath.Join(m.dir, "dovecot-uidlist")
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("maildir: %w", err)
		}
		m.ulIno, m.ulOff = 0, 0
		if m.uidValidity == 0 {
			m.uidValidity = m.s.newUIDValidity(m.cache.uidValidity)
			m.header = uidlistHeader{Version: 3, UIDValidity: m.uidValidity, GUID: newMailboxGUID()}
			if m.nextUID == 0 {
				m.nextUID = 1
			}
		}
		return true, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("maildir: %w", err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	var ino uint64
	if st != nil {
		ino = st.Ino
	}
	if m.ulOff > 0 && ino == m.ulIno && fi.Size() >= m.ulOff {
		if fi.Size() == m.ulOff {
			return false, nil
		}
		data := make([]byte, fi.Size()-m.ulOff)
		n, _ := f.ReadAt(data, m.ulOff)
		var p uidlistParse
		p.parseRecords(string(data[:n]), 0)
		m.ulOff += int64(p.Consumed)
		for _, r := range p.Records {
			m.pending[r.Base] = r.UID
		}
		if p.MaxUID >= m.nextUID {
			m.nextUID = p.MaxUID + 1
		}
		return p.Damaged, nil
	}
	data := make([]byte, fi.Size())
	n, err := io.ReadFull(f, data)
	if err != nil && err != io.ErrUnexpectedEOF {
		return false, fmt.Errorf("maildir: %w", err)
	}
	data = data[:n]
	// The text is never modified: records and pending keys refer into it
	// without a copy (pending keys are cloned at the end of the sync).
	text := unsafe.String(unsafe.SliceData(data), len(data))
	pending := make(map[string]uint32, strings.Count(text, "\n"))
	p, perr := parseUIDListFunc(text, func(r uidRecord) { pending[r.Base] = r.UID })
	if perr != nil {
		m.s.logger().Warn("maildir: dovecot-uidlist unusable, rebuilding", "dir", m.dir, "err", perr)
		m.ulIno, m.ulOff = ino, int64(len(data))
		if !m.loaded && m.uidValidity == 0 {
			if m.cache.uidValidity != 0 && m.cache.valid {
				// Our own index still knows every UID: keep them.
				m.uidValidity = m.cache.uidValidity
				m.nextUID = m.cache.nextUID
				for _, c := range m.cache.records() {
					m.pending[c.base] = c.uid
				}
			} else {
				m.uidValidity = m.s.newUIDValidity(m.cache.uidValidity)
				m.nextUID = 1
			}
			m.header = uidlistHeader{Version: 3, UIDValidity: m.uidValidity, GUID: newMailboxGUID()}
		}
		return true, nil
	}
	if m.loaded && p.Header.UIDValidity != m.uidValidity {
		// The mailbox was recreated under us.
		m.emit(event{kind: store.ChangeUIDValidity})
		m.msgs = nil
		m.nextUID = 0
		m.recentUpTo = 0
	}
	m.header = p.Header
	m.header.GUID = strings.Clone(p.Header.GUID)
	m.header.Extra = nil
	for _, e := range p.Header.Extra {
		m.header.Extra = append(m.header.Extra, strings.Clone(e))
	}
	m.uidValidity = p.Header.UIDValidity
	if p.Header.NextUID > m.nextUID {
		m.nextUID = p.Header.NextUID
	}
	if p.MaxUID >= m.nextUID {
		m.nextUID = p.MaxUID + 1
	}
	if m.nextUID == 0 {
		m.nextUID = 1
	}
	m.pending = pending
	m.pendingBig = true
	m.ulIno, m.ulOff = ino, int64(p.Consumed)
	return p.Damaged || p.Header.Version != 3 || int64(p.Consumed) != int64(len(data)), nil
}

// assignUIDs gives UIDs to files that have none, under the uidlist lock,
// and rewrites the uidlist when rewrite is set (new, damaged or old
// format). already are messages found in this sync that are not yet in
// msgs (a rewrite must list them too).
func (m *mbox) assignUIDs(ctx context.Context, files []fileEnt, already []*msg, rewrite bool) ([]*msg, error) {
	l, err := m.s.lock(ctx, filepath.Join(m.dir, "dovecot-uidlist.lock"))
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	// Someone may have assigned UIDs while we waited.
	if again, err := m.readUIDList(); err != nil {
		return nil, err
	} else if again {
		rewrite = true
	}
	var added []*msg
	var recs []byte
	for _, f := range files {
		fn := parseFileName(f.name)
		uid, ok := m.pending[fn.Base]
		if ok {
			delete(m.pending, fn.Base)
		} else {
			uid = m.nextUID
			m.nextUID++
			recs = appendUIDRecord(recs, uidRecord{UID: uid, Base: fn.Base})
		}
		x := m.newMsg(f, fn, uid)
		added = append(added, x)
	}
	if rewrite {
		return added, m.rewriteUIDList(append(append([]*msg(nil), already...), added...))
	}
	if len(recs) > 0 {
		if err := m.appendUIDList(recs); err != nil {
			return nil, err
		}
	}
	return added, nil
}

// appendUIDList appends record lines to dovecot-uidlist (lock held).
func (m *mbox) appendUIDList(recs []byte) error {
	if m.ulOff == 0 {
		return m.rewriteUIDList(nil)
	}
	// Plain system calls: this runs once per (group) commit, and an
	// os.File would cost a few more. fdatasync, as Dovecot uses for this
	// file, covers the new size.
	path := filepath.Join(m.dir, "dovecot-uidlist")
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("maildir: open %s: %w", path, err)
	}
	err = writeAll(fd, recs)
	if err == nil && !m.s.opts.NoSync {
		err = unix.Fdatasync(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("maildir: append dovecot-uidlist: %w", err)
	}
	m.ulOff += int64(len(recs))
	return nil
}

// rewriteUIDList writes the whole dovecot-uidlist from msgs, extra (not
// yet in msgs) and the pending records (lines for files not seen, kept as
// Dovecot keeps them until it drops them itself). The lock is held.
func (m *mbox) rewriteUIDList(extra []*msg) error {
	type rec struct {
		uid  uint32
		base string
	}
	recs := make([]rec, 0, len(m.msgs)+len(extra)+len(m.pending))
	for _, x := range m.msgs {
		recs = append(recs, rec{x.uid, x.base()})
	}
	for _, x := range extra {
		recs = append(recs, rec{x.uid, x.base()})
	}
	for b, u := range m.pending {
		recs = append(recs, rec{u, b})
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].uid < recs[j].uid })
	if m.header.UIDValidity == 0 {
		m.header = uidlistHeader{Version: 3, UIDValidity: m.uidValidity, GUID: newMailboxGUID()}
	}
	m.header.Version = 3
	m.header.UIDValidity = m.uidValidity
	m.header.NextUID = m.nextUID
	if m.header.GUID == "" {
		m.header.GUID = newMailboxGUID()
	}
	data := []byte(formatUIDListHeader(m.header))
	var last uint32
	for _, r := range recs {
		if r.uid == last {
			continue
		}
		data = appendUIDRecord(data, uidRecord{UID: r.uid, Base: r.base})
		last = r.uid
	}
	path := filepath.Join(m.dir, "dovecot-uidlist")
	if err := m.s.writeFileAtomic(path, data, true); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.ulIno = st.Ino
	}
	m.ulOff = int64(len(data))
	return nil
}

// writeAll writes b to fd, retrying short writes and EINTR.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
