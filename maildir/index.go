package maildir

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"time"
)

// yubin keeps what Maildir cannot hold (modseqs, HIGHESTMODSEQ, which
// messages were already \Recent, internal dates so that opening a big
// mailbox needs no stat per file) in "yubin-index" in each folder.
// Dovecot never reads it and yubin can lose it: it is rebuilt from the
// Maildir, with new modseqs above any that may have been handed out.
//
// Layout (little-endian): "YBIX", version u32 (1), UIDVALIDITY u32,
// next UID u32, recent-up-to u32, record count u32, HIGHESTMODSEQ u64,
// reserved modseq u64, then per message: UID u32, modseq u64, internal
// date (unix ns) i64, system flags u8, keyword letters u32, base name
// length u16, base name.
//
// Modseqs are reserved in blocks: the file records a ceiling
// (modseqReserve above the current value) and is rewritten before the
// ceiling is passed, so a crash never lets HIGHESTMODSEQ go back.

const (
	indexFile     = "yubin-index"
	indexMagic    = "YBIX"
	indexHeader   = 40
	modseqReserve = 10000
)

type cacheState struct {
	dirty       bool
	valid       bool
	uidValidity uint32
	nextUID     uint32
	recentUpTo  uint32
	hms         uint64
	reserved    uint64
	ents        []cacheEnt
	raw         []byte // the file, for base names (records) during recovery
	existed     bool   // a dovecot-uidlist existed before this load
}

type cacheEnt struct {
	base   uint32 // offset of the base name in raw
	blen   uint16
	uid    uint32
	sys    uint8
	kw     uint32
	modseq uint64
	date   int64
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
	if err != nil || len(data) < indexHeader || string(data[:4]) != indexMagic || binary.LittleEndian.Uint32(data[4:]) != 1 {
		return
	}
	le := binary.LittleEndian
	c := &m.cache
	c.uidValidity = le.Uint32(data[8:])
	c.nextUID = le.Uint32(data[12:])
	c.recentUpTo = le.Uint32(data[16:])
	n := int(le.Uint32(data[20:]))
	c.hms = le.Uint64(data[24:])
	c.reserved = le.Uint64(data[32:])
	p := data[indexHeader:]
	if n > len(p)/27 {
		return
	}
	c.ents = make([]cacheEnt, 0, n)
	var last uint32
	for i := 0; i < n; i++ {
		if len(p) < 27 {
			c.ents = nil
			return
		}
		e := cacheEnt{uid: le.Uint32(p), modseq: le.Uint64(p[4:]), date: int64(le.Uint64(p[12:])), sys: p[20], kw: le.Uint32(p[21:])}
		bl := int(le.Uint16(p[25:]))
		if len(p) < 27+bl || e.uid <= last {
			c.ents = nil
			return
		}
		e.base, e.blen = uint32(len(data)-len(p)+27), uint16(bl)
		c.ents = append(c.ents, e)
		last = e.uid
		p = p[27+bl:]
	}
	c.valid = true
	c.raw = data
}

// records returns the base names the index knows, by UID.
func (c *cacheState) records() []cacheRec {
	out := make([]cacheRec, 0, len(c.ents))
	for _, e := range c.ents {
		if int(e.base)+int(e.blen) <= len(c.raw) {
			out = append(out, cacheRec{uid: e.uid, base: string(c.raw[e.base : int(e.base)+int(e.blen)])})
		}
	}
	return out
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
	if (m.cache.dirty || m.datesDirty.Load() || release) && m.loaded && !m.gone {
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
	buf := make([]byte, indexHeader, indexHeader+len(m.msgs)*80)
	copy(buf, indexMagic)
	le.PutUint32(buf[4:], 1)
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
	var rec [27]byte
	for _, x := range m.msgs {
		b := x.base()
		if len(b) > 0xffff {
			b = ""
		}
		le.PutUint32(rec[0:], x.uid)
		le.PutUint64(rec[4:], x.modseq)
		le.PutUint64(rec[12:], uint64(x.date.Load()))
		rec[20] = uint8(x.sys)
		le.PutUint32(rec[21:], x.kw)
		le.PutUint16(rec[25:], uint16(len(b)))
		buf = append(buf, rec[:]...)
		buf = append(buf, b...)
	}
	if err := m.s.writeFileAtomic(filepath.Join(m.dir, indexFile), buf, true); err != nil {
		m.s.logger().Warn("maildir: writing index", "dir", m.dir, "err", err)
		return
	}
	m.cache.reserved = reserved
	m.cache.dirty = false
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
