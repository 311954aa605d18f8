package maildir

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/yubinmail/yubin/store"
)

// yubin keeps what Maildir cannot hold (modseqs, HIGHESTMODSEQ, which
// messages were already \Recent, internal dates so that opening a big
// mailbox needs no stat per file) in "yubin-index" in each folder.
// Dovecot never reads it and yubin can lose it: it is rebuilt from the
// Maildir, with new modseqs above any that may have been handed out.
//
// Layout (little-endian): "YBIX", version u32 (2), UIDVALIDITY u32,
// next UID u32, recent-up-to u32, record count u32, HIGHESTMODSEQ u64,
// reserved modseq u64; version 2 goes on with the stamp of the disk
// state the records describe (new/ mtime, cur/ mtime, when that state
// was scanned, all unix ns; dovecot-uidlist inode, size, mtime), zero
// when unknown; then per message: UID u32, modseq u64, internal date
// (unix ns) i64, system flags u8, keyword letters u32, in new/ u8, size
// i64, virtual size i64, file name length u16, file name. Version 1
// (records of 27 bytes: no in-new, sizes or stamp, base name instead of
// file name) is still read.
//
// When the stamp still matches the disk (neither directory nor the
// uidlist changed since a scan that happened well after their last
// change), opening the folder takes the messages from the index and
// reads neither directory nor the uidlist's records, as Dovecot trusts
// its own index while the Maildir's mtimes stay the same.
//
// Modseqs are reserved in blocks: the file records a ceiling
// (modseqReserve above the current value) and is rewritten before the
// ceiling is passed, so a crash never lets HIGHESTMODSEQ go back.

const (
	indexFile     = "yubin-index"
	indexMagic    = "YBIX"
	indexHeader   = 40 // version 1
	indexHeader2  = 88 // version 2
	indexRec1     = 27
	indexRec2     = 44
	modseqReserve = 10000
)

type cacheState struct {
	dirty       bool
	valid       bool
	version     uint32
	uidValidity uint32
	nextUID     uint32
	recentUpTo  uint32
	hms         uint64
	reserved    uint64
	stamp       indexStamp // as read; then as last written
	ents        []cacheEnt
	raw         []byte // the file, for names
	existed     bool   // a dovecot-uidlist existed before this load
}

// indexStamp identifies the disk state an index's records describe.
type indexStamp struct {
	newMtime, curMtime, scanned int64
	ulIno                       uint64
	ulSize, ulMtime             int64
}

type cacheEnt struct {
	name   uint32 // offset of the file name (version 1: base name) in raw
	nlen   uint16
	uid    uint32
	sys    uint8
	inNew  bool
	kw     uint32
	modseq uint64
	date   int64
	size   int64
	vsize  int64
}

type cacheRec struct {
	uid  uint32
	base string
}

// loadCache reads yubin-index (first sync, m.mu held).
func (m *mbox) loadCache() {
	_, err := os.Stat(filepath.Join(m.dir, "dovecot-uidlist"))
	m.cache.existed = err == nil
	data, err := os.ReadFile(filepath.Join(m.dir, indexFile))
	if err != nil || len(data) < indexHeader || string(data[:4]) != indexMagic {
		return
	}
	le := binary.LittleEndian
	c := &m.cache
	version := le.Uint32(data[4:])
	hdr, recLen := indexHeader, indexRec1
	switch version {
	case 1:
	case 2:
		hdr, recLen = indexHeader2, indexRec2
		if len(data) < hdr {
			return
		}
	default:
		return
	}
	c.version = version
	c.uidValidity = le.Uint32(data[8:])
	c.nextUID = le.Uint32(data[12:])
	c.recentUpTo = le.Uint32(data[16:])
	n := int(le.Uint32(data[20:]))
	c.hms = le.Uint64(data[24:])
	c.reserved = le.Uint64(data[32:])
	if version == 2 {
		c.stamp = indexStamp{
			newMtime: int64(le.Uint64(data[40:])), curMtime: int64(le.Uint64(data[48:])), scanned: int64(le.Uint64(data[56:])),
			ulIno: le.Uint64(data[64:]), ulSize: int64(le.Uint64(data[72:])), ulMtime: int64(le.Uint64(data[80:])),
		}
	}
	p := data[hdr:]
	if n > len(p)/recLen {
		return
	}
	c.ents = make([]cacheEnt, 0, n)
	var last uint32
	for i := 0; i < n; i++ {
		if len(p) < recLen {
			c.ents = nil
			return
		}
		e := cacheEnt{uid: le.Uint32(p), modseq: le.Uint64(p[4:]), date: int64(le.Uint64(p[12:])), sys: p[20], kw: le.Uint32(p[21:]), size: -1, vsize: -1}
		if version == 2 {
			e.inNew = p[25] == 1
			e.size, e.vsize = int64(le.Uint64(p[26:])), int64(le.Uint64(p[34:]))
		}
		nl := int(le.Uint16(p[recLen-2:]))
		if len(p) < recLen+nl || e.uid <= last {
			c.ents = nil
			return
		}
		e.name, e.nlen = uint32(len(data)-len(p)+recLen), uint16(nl)
		c.ents = append(c.ents, e)
		last = e.uid
		p = p[recLen+nl:]
	}
	c.valid = true
	c.raw = data
}

func (c *cacheState) entName(e *cacheEnt) []byte {
	if int(e.name)+int(e.nlen) > len(c.raw) {
		return nil
	}
	return c.raw[e.name : int(e.name)+int(e.nlen)]
}

// records returns the base names the index knows, by UID.
func (c *cacheState) records() []cacheRec {
	out := make([]cacheRec, 0, len(c.ents))
	for i := range c.ents {
		name := c.entName(&c.ents[i])
		if name == nil {
			continue
		}
		if j := bytes.IndexByte(name, ':'); j >= 0 {
			name = name[:j]
		}
		out = append(out, cacheRec{uid: c.ents[i].uid, base: string(name)})
	}
	return out
}

// currentStamp returns the stamp of the disk state the folder's records
// describe, or zero when they may not describe it: a directory or the
// uidlist changed since the last scan (this Store's own changes
// included), that scan came too soon after a change to be sure of it
// (see stampFresh), or uidlist records wait for files (m.mu held).
func (m *mbox) currentStamp() indexStamp {
	newM, err1 := dirMtime(filepath.Join(m.dir, "new"))
	curM, err2 := dirMtime(filepath.Join(m.dir, "cur"))
	fi, err3 := os.Stat(filepath.Join(m.dir, "dovecot-uidlist"))
	if err1 != nil || err2 != nil || err3 != nil || len(m.pending) > 0 {
		return indexStamp{}
	}
	if newM != m.newStamp.mtime || curM != m.curStamp.mtime || !stampFresh(m.newStamp, newM) || !stampFresh(m.curStamp, curM) {
		return indexStamp{}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Ino != m.ulIno || fi.Size() != m.ulOff {
		return indexStamp{}
	}
	return indexStamp{newMtime: newM, curMtime: curM, scanned: min(m.newStamp.scanned, m.curStamp.scanned),
		ulIno: st.Ino, ulSize: fi.Size(), ulMtime: fi.ModTime().UnixNano()}
}

// loadFromIndex is the first sync's fast path: when yubin-index is
// version 2 and its stamp matches the disk (newM and curM are the
// directories' mtimes now), the messages are taken from it, and of
// dovecot-uidlist only the header is read. It reports whether it did so
// (m.mu held).
func (m *mbox) loadFromIndex(newM, curM int64) bool {
	c := &m.cache
	st := c.stamp
	if !c.valid || c.version != 2 || st.scanned == 0 || st.newMtime != newM || st.curMtime != curM ||
		st.scanned-newM <= dirtyWindow || st.scanned-curM <= dirtyWindow {
		return false
	}
	f, err := os.Open(filepath.Join(m.dir, "dovecot-uidlist"))
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || sys.Ino != st.ulIno || fi.Size() != st.ulSize || fi.ModTime().UnixNano() != st.ulMtime {
		return false
	}
	var head [4096]byte
	n, _ := f.ReadAt(head[:], 0)
	line, _, ok := strings.Cut(string(head[:n]), "\n")
	if !ok {
		return false
	}
	h, err := parseUIDListHeader(line)
	if err != nil || h.Version != 3 || h.UIDValidity != c.uidValidity {
		return false
	}
	// Names go into one string; records into one slab.
	total := 0
	for i := range c.ents {
		total += int(c.ents[i].nlen)
	}
	arena := make([]byte, 0, total)
	slab := make([]msg, len(c.ents))
	msgs := make([]*msg, len(c.ents))
	for i := range c.ents {
		e := &c.ents[i]
		name := c.entName(e)
		if len(name) == 0 || e.size < 0 || e.vsize < 0 {
			return false
		}
		arena = append(arena, name...)
	}
	names := unsafe.String(unsafe.SliceData(arena), len(arena))
	off := 0
	for i := range c.ents {
		e := &c.ents[i]
		x := &slab[i]
		x.uid, x.sys, x.kw, x.inNew = e.uid, store.SystemFlags(e.sys), e.kw, e.inNew
		x.name = names[off : off+int(e.nlen)]
		off += int(e.nlen)
		x.size, x.vsize = e.size, e.vsize
		msgs[i] = x
	}
	m.header = h
	m.header.GUID = strings.Clone(h.GUID)
	m.header.Extra = nil
	for _, e := range h.Extra {
		m.header.Extra = append(m.header.Extra, strings.Clone(e))
	}
	m.uidValidity = h.UIDValidity
	m.nextUID = max(c.nextUID, h.NextUID, 1)
	if k := len(msgs); k > 0 && msgs[k-1].uid >= m.nextUID {
		m.nextUID = msgs[k-1].uid + 1
	}
	m.ulIno, m.ulOff = st.ulIno, st.ulSize
	m.newStamp = dirStamp{mtime: newM, scanned: st.scanned}
	m.curStamp = dirStamp{mtime: curM, scanned: st.scanned}
	m.msgs = msgs
	return true
}

// applyCache takes modseqs, dates and \Recent state from the loaded index
// for messages whose flags did not change meanwhile; others get fresh
// modseqs (m.mu held, end of the first sync).
func (m *mbox) applyCache() {
	c := &m.cache
	base := c.reserved
	if c.hms > base {
		base = c.hms
	}
	if !c.valid && c.existed {
		// The mailbox existed but our index is gone: modseqs handed out
		// before are unknown, so start above any plausible one.
		base = uint64(time.Now().UnixMilli())
	}
	m.highestModSeq = base
	match := c.valid && c.uidValidity == m.uidValidity
	changed := !match || len(c.ents) != len(m.msgs) || c.nextUID != m.nextUID
	j := 0
	for _, x := range m.msgs {
		x.modseq = 0
		if match {
			for j < len(c.ents) && c.ents[j].uid < x.uid {
				j++
			}
			if j < len(c.ents) && c.ents[j].uid == x.uid {
				e := c.ents[j]
				if e.sys == uint8(x.sys) && e.kw == x.kw && e.modseq <= base {
					x.modseq = e.modseq
				}
				if e.date != 0 {
					x.date.Store(e.date)
				}
			}
		}
		if x.modseq == 0 {
			m.highestModSeq++
			x.modseq = m.highestModSeq
			changed = true
		}
	}
	if match && c.recentUpTo <= m.nextUID {
		m.recentUpTo = c.recentUpTo
	}
	c.ents, c.raw = nil, nil
	m.cache.dirty = false
	if changed {
		m.writeIndexLocked(true)
	}
}

// flushCache writes the index if something changed. final (the Store
// is closing) gives back the reserved modseqs when no handle is left, so
// the next open continues from the exact HIGHESTMODSEQ.
func (m *mbox) flushCache(final bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	release := final && len(m.handles) == 0 && m.cache.reserved > m.highestModSeq
	if !m.loaded || m.gone {
		return
	}
	// A stamp newer than the index's lets the next open skip the scan; an
	// outdated one is harmless (it never matches the disk again).
	newStamp := false
	if st := m.currentStamp(); st.scanned != 0 && st != m.cache.stamp {
		newStamp = true
	}
	if m.cache.dirty || m.datesDirty.Load() || release || newStamp {
		m.writeIndexLocked(!release)
	}
}

// reserveModSeq keeps the reserved ceiling ahead of HIGHESTMODSEQ
// (m.mu held).
func (m *mbox) reserveModSeq() {
	if m.loaded && m.highestModSeq >= m.cache.reserved {
		m.writeIndexLocked(true)
		m.cache.dirty = true // the change in progress is not in it yet
	}
}

// writeIndexLocked rewrites yubin-index durably (m.mu held). With
// reserve, the file records a ceiling modseqReserve above HIGHESTMODSEQ
// that this process may reach before writing again; otherwise the exact
// value.
func (m *mbox) writeIndexLocked(reserve bool) {
	le := binary.LittleEndian
	// Another process may share the folder: never write a HIGHESTMODSEQ
	// below what it reserved.
	if f, err := os.Open(filepath.Join(m.dir, indexFile)); err == nil {
		var h [indexHeader]byte
		if n, _ := f.ReadAt(h[:], 0); n == indexHeader && string(h[:4]) == indexMagic {
			if r := le.Uint64(h[32:]); r > m.highestModSeq && m.cache.reserved < r {
				m.highestModSeq = r
			}
		}
		f.Close()
	}
	stamp := m.currentStamp()
	buf := make([]byte, indexHeader2, indexHeader2+len(m.msgs)*(indexRec2+64))
	copy(buf, indexMagic)
	le.PutUint32(buf[4:], 2)
	le.PutUint32(buf[8:], m.uidValidity)
	le.PutUint32(buf[12:], m.nextUID)
	le.PutUint32(buf[16:], m.recentUpTo)
	le.PutUint32(buf[20:], uint32(len(m.msgs)))
	le.PutUint64(buf[24:], m.highestModSeq)
	reserved := m.highestModSeq
	if reserve {
		reserved += modseqReserve
	}
	le.PutUint64(buf[32:], reserved)
	le.PutUint64(buf[40:], uint64(stamp.newMtime))
	le.PutUint64(buf[48:], uint64(stamp.curMtime))
	le.PutUint64(buf[56:], uint64(stamp.scanned))
	le.PutUint64(buf[64:], stamp.ulIno)
	le.PutUint64(buf[72:], uint64(stamp.ulSize))
	le.PutUint64(buf[80:], uint64(stamp.ulMtime))
	var rec [indexRec2]byte
	for _, x := range m.msgs {
		name := x.name
		if len(name) > 0xffff {
			name = "" // never loaded from the index: see loadFromIndex
		}
		le.PutUint32(rec[0:], x.uid)
		le.PutUint64(rec[4:], x.modseq)
		le.PutUint64(rec[12:], uint64(x.date.Load()))
		rec[20] = uint8(x.sys)
		le.PutUint32(rec[21:], x.kw)
		rec[25] = 0
		if x.inNew {
			rec[25] = 1
		}
		le.PutUint64(rec[26:], uint64(x.size))
		le.PutUint64(rec[34:], uint64(x.vsize))
		le.PutUint16(rec[42:], uint16(len(name)))
		buf = append(buf, rec[:]...)
		buf = append(buf, name...)
	}
	if err := m.s.writeFileAtomic(filepath.Join(m.dir, indexFile), buf, true); err != nil {
		m.s.logger().Warn("maildir: writing index", "dir", m.dir, "err", err)
		return
	}
	m.cache.reserved = reserved
	m.cache.stamp = stamp
	m.cache.dirty = false
	m.indexWritten, m.indexRecent = time.Now(), m.recentUpTo
	m.datesDirty.Store(false)
}

// recoverFromCache fills in, from yubin-index, UIDs that a damaged
// dovecot-uidlist lost, when both agree on UIDVALIDITY: a message keeps
// its UID instead of getting a new one (first sync, m.mu held).
func (m *mbox) recoverFromCache() {
	c := &m.cache
	if !c.valid || c.uidValidity != m.uidValidity {
		return
	}
	used := make(map[uint32]bool, len(m.pending))
	for _, u := range m.pending {
		used[u] = true
	}
	for _, r := range c.records() {
		if r.base == "" || used[r.uid] {
			continue
		}
		if _, ok := m.pending[r.base]; ok {
			continue
		}
		m.pending[r.base] = r.uid
		used[r.uid] = true
	}
	if c.nextUID > m.nextUID {
		m.nextUID = c.nextUID
	}
}
