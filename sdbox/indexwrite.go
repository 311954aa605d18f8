package sdbox

import (
	"encoding/binary"
	"fmt"
)

// Writing dovecot.index (FORMATS.md 1.4) from a mailbox state, as
// Dovecot's mail_index_write does when it rotates the transaction log:
// the base header, every extension in the order (and so with the
// numbers) the log refers to them by, and one record per message.

// flagDirty is Dovecot's "dirty" record flag; hdrFlagHaveDirty says
// some record has it.
const (
	flagDirty        = 0x80
	hdrFlags         = 20
	hdrFlagCorrupted = 0x1
	hdrFlagHaveDirty = 0x2
	hdrUnseenLow     = 52
	hdrDeletedLow    = 56
)

// indexWrite is what buildIndex needs besides the state.
type indexWrite struct {
	indexID uint32
	logSeq  uint32 // the log the index continues with
	logOff  uint32 // and where in it
	raw     map[uint32][]byte
	now     uint32
}

// extLayout is where an extension's record part goes in the new index.
type extLayout struct {
	e   *extension
	off int
	hdr []byte // the header data written
}

// buildIndex returns the bytes of a dovecot.index for st.
func buildIndex(st *state, w indexWrite) ([]byte, error) {
	if st.uidValidity() == 0 || st.nextUID() == 0 {
		return nil, fmt.Errorf("%w: no UIDVALIDITY", errBadIndex)
	}
	var kw *extension
	if st.ext("keywords") == nil && len(st.kwNames) > 0 {
		// Keywords met only in the log: the index gets the extension
		// as Dovecot registers it.
		kw = &extension{name: "keywords", recSize: 2, recAlign: 1}
	}
	exts := st.exts
	if kw != nil {
		exts = append(exts[:len(exts):len(exts)], kw)
	}
	// Record layout: uid and flags, then each record part at the next
	// offset its alignment allows; the record size a multiple of the
	// largest alignment.
	lay := make([]extLayout, len(exts))
	recSize, maxAlign := 5, 4
	for i, e := range exts {
		lay[i] = extLayout{e: e, hdr: e.hdr}
		size, align := e.recSize, max(e.recAlign, 1)
		switch e.name {
		case "keywords":
			size = max(size, (len(st.kwNames)+7)/8, 1)
			lay[i].hdr = keywordsHeader(st.kwNames, len(e.hdr))
		case "modseq":
			if size != 8 || len(e.hdr) < 16 {
				return nil, fmt.Errorf("%w: modseq extension of %d/%d bytes", errBadIndex, len(e.hdr), size)
			}
			h := append([]byte(nil), e.hdr...)
			binary.LittleEndian.PutUint64(h, st.modseq)
			binary.LittleEndian.PutUint32(h[8:], w.logSeq)
			binary.LittleEndian.PutUint32(h[12:], w.logOff)
			lay[i].hdr = h
		}
		if size == 0 && len(lay[i].hdr) == 0 {
			return nil, fmt.Errorf("%w: empty extension %q", errBadIndex, e.name)
		}
		if e.name == "" || len(e.name) > 0xffff || len(lay[i].hdr) > maxExtHeader || size > 0xffff || align > 8 {
			return nil, fmt.Errorf("%w: extension %q cannot be written", errBadIndex, e.name)
		}
		if size > 0 {
			off := (recSize + align - 1) / align * align
			lay[i].off = off
			recSize = off + size
			maxAlign = max(maxAlign, align)
		}
		lay[i].e = &extension{name: e.name, recSize: size, recAlign: align, resetID: e.resetID, recOff: e.recOff, inIndex: e.inIndex}
		if size == 0 {
			lay[i].e.recAlign = e.recAlign
		}
	}
	recSize = (recSize + maxAlign - 1) / maxAlign * maxAlign
	if recSize > maxRecordSize {
		return nil, fmt.Errorf("%w: record size %d", errBadIndex, recSize)
	}

	// Extension headers.
	var ext []byte
	for _, l := range lay {
		var h [16]byte
		binary.LittleEndian.PutUint32(h[0:], uint32(len(l.hdr)))
		binary.LittleEndian.PutUint32(h[4:], l.e.resetID)
		if l.e.recSize > 0 {
			binary.LittleEndian.PutUint16(h[8:], uint16(l.off))
		}
		binary.LittleEndian.PutUint16(h[10:], uint16(l.e.recSize))
		binary.LittleEndian.PutUint16(h[12:], uint16(l.e.recAlign))
		binary.LittleEndian.PutUint16(h[14:], uint16(len(l.e.name)))
		start := len(ext)
		ext = append(ext, h[:]...)
		ext = append(ext, l.e.name...)
		ext = append(ext, make([]byte, pad8(len(ext)-start)-(len(ext)-start))...)
		ext = append(ext, l.hdr...)
		ext = append(ext, make([]byte, pad8(len(l.hdr))-len(l.hdr))...)
	}
	hdrSize := baseHeaderSize + len(ext)

	// Base header.
	var hdr [baseHeaderSize]byte
	copy(hdr[:], st.hdr[:])
	hdr[0], hdr[1] = indexMajor, 3
	binary.LittleEndian.PutUint16(hdr[2:], baseHeaderSize)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(hdrSize))
	binary.LittleEndian.PutUint32(hdr[8:], uint32(recSize))
	hdr[12], hdr[13], hdr[14], hdr[15] = 1, 0, 0, 0
	put := func(off int, v uint32) { binary.LittleEndian.PutUint32(hdr[off:], v) }
	put(16, w.indexID)
	next := st.nextUID()
	var seen, deleted uint32
	unseenLow, deletedLow := next, next
	flags := binary.LittleEndian.Uint32(hdr[hdrFlags:]) &^ (hdrFlagCorrupted | hdrFlagHaveDirty)
	for i := range st.msgs {
		m := &st.msgs[i]
		if m.flags&flagSeen != 0 {
			seen++
		} else if unseenLow == next {
			unseenLow = m.uid
		}
		if m.flags&flagDeleted != 0 {
			deleted++
			if deletedLow == next {
				deletedLow = m.uid
			}
		}
		if m.flags&flagDirty != 0 {
			flags |= hdrFlagHaveDirty
		}
	}
	put(hdrFlags, flags)
	put(hdrMessagesCount, uint32(len(st.msgs)))
	put(36, 0)
	put(hdrSeenCount, seen)
	put(hdrDeletedCount, deleted)
	if fr := st.u32(hdrFirstRecentUID); fr == 0 || fr > next {
		put(hdrFirstRecentUID, min(max(fr, 1), next))
	}
	put(hdrUnseenLow, unseenLow)
	put(hdrDeletedLow, deletedLow)
	put(hdrLogFileSeq, w.logSeq)
	put(hdrLogTailOffset, w.logOff)
	put(hdrLogHeadOffset, w.logOff)
	put(72, 0)
	put(hdrLog2RotateTime, w.now)

	out := make([]byte, 0, hdrSize+len(st.msgs)*recSize)
	out = append(out, hdr[:]...)
	out = append(out, ext...)
	for i := range st.msgs {
		m := &st.msgs[i]
		if i > 0 && m.uid <= st.msgs[i-1].uid || m.uid == 0 || m.uid >= next {
			return nil, fmt.Errorf("%w: UID %d out of order", errBadIndex, m.uid)
		}
		start := len(out)
		out = append(out, make([]byte, recSize)...)
		r := out[start:]
		binary.LittleEndian.PutUint32(r, m.uid)
		r[4] = m.flags
		old := w.raw[m.uid]
		for _, l := range lay {
			e := l.e
			if e.recSize == 0 {
				continue
			}
			part := r[l.off : l.off+e.recSize]
			switch e.name {
			case "keywords":
				for _, k := range m.kw {
					if int(k)/8 < len(part) {
						part[k/8] |= 1 << (k % 8)
					}
				}
			case "modseq":
				binary.LittleEndian.PutUint64(part, max(m.modseq, 1))
			case "vsize":
				if e.recSize == 4 {
					binary.LittleEndian.PutUint32(part, m.vsize)
				}
			default:
				// Data yubin does not interpret (the cache offset...):
				// as the index had it, or zero (unknown, as for a
				// message Dovecot has not cached yet).
				if e.inIndex && e.recOff+e.recSize <= len(old) {
					copy(part, old[e.recOff:e.recOff+e.recSize])
				}
			}
		}
	}
	return out, nil
}

// keywordsHeader is the header of the keywords extension for names:
// u32 count, count {u32 0, u32 name offset}, the names NUL-ended, at
// least minSize bytes (zero filled: Dovecot's spare room).
func keywordsHeader(names []string, minSize int) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(names)))
	off := 0
	for _, n := range names {
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(off))
		off += len(n) + 1
	}
	for _, n := range names {
		b = append(b, n...)
		b = append(b, 0)
	}
	size := max(pad4(len(b)), minSize)
	return append(b, make([]byte, size-len(b))...)
}
