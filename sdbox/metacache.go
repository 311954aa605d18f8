package sdbox

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// yubin keeps what it read from the u.N files (received date, save
// date, virtual size, GUID: what a listing of the mailbox needs) in a
// cache of its own, dbox-Mails/yubin-meta, so that the first listing of
// a big mailbox by a new process does not open every message file
// (about 2 s at 100,000 messages). Dovecot keeps the same facts in
// dovecot.index.cache, whose format yubin does not write.
//
// The cache is safe when Dovecot (or anything else) changes the
// mailbox: its entries are keyed by UIDVALIDITY and UID, and a u.N file
// is never rewritten under its UID (a message saved again gets a new
// UID; force-resync that renumbers changes UIDVALIDITY). Entries of
// expunged messages are ignored and dropped when the cache is written
// anew. The file is append-only between rewrites, without fsync: each
// record carries a CRC, and a record that does not check (a crash cut
// it short) ends the reading; the facts are then read from the files
// again.
//
// Layout, little endian: a 16-byte header (the magic "yubin-meta1\x00",
// UIDVALIDITY), then 64-byte records: UID, flags (bit 0: GUID is 16
// binary bytes), received (Unix seconds), save date (Unix seconds,
// nanoseconds), virtual size, GUID, CRC-32 (IEEE) of the bytes before
// it, 4 bytes of padding.

const (
	metaCacheName   = "yubin-meta"
	metaCacheMagic  = "yubin-meta1\x00"
	metaCacheHdr    = 16
	metaCacheRec    = 64
	metaCacheMaxLen = 64 << 20 // 1M messages; beyond, not read
)

// metaCachePath is the cache file of the hub's mailbox.
func (h *hub) metaCachePath() string { return filepath.Join(h.dir, metaCacheName) }

// loadMetaCache fills h.meta from the cache file for uidValidity
// (h.metaMu held). It returns the number of records read.
func (h *hub) loadMetaCache(uidValidity uint32) int {
	b, err := readLimited(h.metaCachePath(), metaCacheMaxLen)
	if err != nil || len(b) < metaCacheHdr || string(b[:12]) != metaCacheMagic || binary.LittleEndian.Uint32(b[12:]) != uidValidity {
		return 0
	}
	n := 0
	for p := metaCacheHdr; p+metaCacheRec <= len(b); p += metaCacheRec {
		r := b[p : p+metaCacheRec]
		if crc32.ChecksumIEEE(r[:56]) != binary.LittleEndian.Uint32(r[56:]) {
			break
		}
		uid := binary.LittleEndian.Uint32(r)
		m := &msgMeta{
			Received: time.Unix(int64(binary.LittleEndian.Uint64(r[8:])), 0),
			SaveDate: time.Unix(int64(binary.LittleEndian.Uint64(r[16:])), int64(binary.LittleEndian.Uint32(r[24:]))),
			VSize:    int64(binary.LittleEndian.Uint64(r[32:])),
			cached:   true,
		}
		if binary.LittleEndian.Uint32(r[4:])&1 != 0 {
			m.GUID = hex.EncodeToString(r[40:56])
		}
		if uid != 0 {
			h.meta[uid] = m
			n++
		}
	}
	h.metaOnDisk = n
	return n
}

// cacheable reports whether m can go into the cache.
func cacheable(m *msgMeta) bool {
	if m.Damage != nil || m.cached || m.VSize < 0 {
		return false
	}
	if m.GUID == "" {
		return true
	}
	g, err := hex.DecodeString(m.GUID)
	return err == nil && len(g) == 16 && hex.EncodeToString(g) == m.GUID
}

// metaRecord encodes one cache record.
func metaRecord(uid uint32, m *msgMeta) []byte {
	r := make([]byte, metaCacheRec)
	binary.LittleEndian.PutUint32(r, uid)
	if m.GUID != "" {
		g, _ := hex.DecodeString(m.GUID)
		copy(r[40:56], g)
		binary.LittleEndian.PutUint32(r[4:], 1)
	}
	binary.LittleEndian.PutUint64(r[8:], uint64(m.Received.Unix()))
	binary.LittleEndian.PutUint64(r[16:], uint64(m.SaveDate.Unix()))
	binary.LittleEndian.PutUint32(r[24:], uint32(m.SaveDate.Nanosecond()))
	binary.LittleEndian.PutUint64(r[32:], uint64(m.VSize))
	binary.LittleEndian.PutUint32(r[56:], crc32.ChecksumIEEE(r[:56]))
	return r
}

// flushMetaCache writes the facts read from files since the last flush
// into the cache: appended, or the whole cache anew (temp file and
// rename) when it is missing, of another UIDVALIDITY, or when more than
// half of it is about expunged messages. live is the set of UIDs in the
// mailbox now (nil: unknown, no rewrite).
func (h *hub) flushMetaCache(live func(uid uint32) bool) {
	h.metaMu.Lock()
	defer h.metaMu.Unlock()
	if len(h.metaNew) == 0 && !(live != nil && h.metaDead(live)) {
		return
	}
	uv := h.metaUV
	path := h.metaCachePath()
	rewrite := h.metaOnDisk == 0 || (live != nil && h.metaDead(live))
	if !rewrite {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			var hdr [metaCacheHdr]byte
			fi, serr := f.Stat()
			rf, _ := os.Open(path)
			if rf != nil {
				io.ReadFull(rf, hdr[:])
				rf.Close()
			}
			if serr == nil && (fi.Size()-metaCacheHdr)%metaCacheRec == 0 && string(hdr[:12]) == metaCacheMagic && binary.LittleEndian.Uint32(hdr[12:]) == uv {
				var buf []byte
				for _, uid := range h.metaNew {
					if m := h.meta[uid]; m != nil {
						buf = append(buf, metaRecord(uid, m)...)
					}
				}
				if _, err := f.Write(buf); err == nil {
					h.metaOnDisk += len(h.metaNew)
					h.metaNew = h.metaNew[:0]
					f.Close()
					return
				}
			}
			f.Close()
		}
	}
	buf := make([]byte, metaCacheHdr, metaCacheHdr+metaCacheRec*len(h.meta))
	copy(buf, metaCacheMagic)
	binary.LittleEndian.PutUint32(buf[12:], uv)
	n := 0
	for uid, m := range h.meta {
		if (live == nil || live(uid)) && (m.cached || cacheable(m)) {
			buf = append(buf, metaRecord(uid, m)...)
			n++
		}
	}
	tmp := fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), h.s.seq.Add(1))
	if err := os.WriteFile(tmp, buf, 0o600); err != nil {
		os.Remove(tmp)
		return
	}
	h.s.chown(tmp)
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return
	}
	h.metaOnDisk = n
	h.metaNew = h.metaNew[:0]
}

// metaDead reports whether more than half of the cache on disk (and at
// least 1,000 records) is about messages no longer in the mailbox
// (h.metaMu held).
func (h *hub) metaDead(live func(uint32) bool) bool {
	if h.metaOnDisk < 1000 {
		return false
	}
	dead := 0
	for uid, m := range h.meta {
		if m.cached && !live(uid) {
			dead++
		}
	}
	return dead*2 > h.metaOnDisk
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, io.ErrShortBuffer
	}
	b := make([]byte, fi.Size())
	_, err = io.ReadFull(f, b)
	return b, err
}
