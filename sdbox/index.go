package sdbox

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// dovecot.index (FORMATS.md 1.4): a base header, extension headers,
// then messages_count records of record_size bytes.

const (
	indexMajor    = 7
	maxRecordSize = 4096
)

var errBadIndex = errors.New("sdbox: damaged index")

// indexInfo is where an index says the log continues.
type indexInfo struct {
	LogSeq     uint32
	HeadOffset uint32
	IndexID    uint32
}

// readIndex loads dovecot.index data into a fresh state. Damage that
// leaves part of the index usable (records past the end, records out of
// order) is returned as an error alongside the usable state; a nil
// state means nothing could be trusted.
func readIndex(data []byte) (*state, indexInfo, error) {
	var info indexInfo
	if len(data) < baseHeaderSize {
		return nil, info, fmt.Errorf("%w: %d bytes", errBadIndex, len(data))
	}
	if data[0] != indexMajor {
		return nil, info, fmt.Errorf("%w: version %d", errBadIndex, data[0])
	}
	if data[12]&1 == 0 {
		return nil, info, fmt.Errorf("%w: not little-endian", errBadIndex)
	}
	baseSize := int(binary.LittleEndian.Uint16(data[2:]))
	hdrSize := int(binary.LittleEndian.Uint32(data[4:]))
	recSize := int(binary.LittleEndian.Uint32(data[8:]))
	s := &state{modseq: 1}
	copy(s.hdr[:], data[:baseHeaderSize])
	info.IndexID = binary.LittleEndian.Uint32(data[16:])
	info.LogSeq = s.u32(hdrLogFileSeq)
	info.HeadOffset = s.u32(hdrLogHeadOffset)
	// With the sizes wrong, only the base header (UIDVALIDITY, next UID,
	// where the log continues) is used; the records are not trusted.
	s.setU32(hdrMessagesCount, 0)
	if baseSize < baseHeaderSize || hdrSize < baseSize || hdrSize > len(data) {
		return s, info, fmt.Errorf("%w: header size %d/%d of %d bytes", errBadIndex, baseSize, hdrSize, len(data))
	}
	if recSize < 5 || recSize > maxRecordSize {
		return s, info, fmt.Errorf("%w: record size %d", errBadIndex, recSize)
	}
	copy(s.hdr[hdrMessagesCount:], data[hdrMessagesCount:hdrMessagesCount+4])
	var damage error

	// Extension headers.
	var kwExt, modseqExt, vsizeExt *extension
	for off := baseSize; off+16 <= hdrSize; {
		hsz := int(binary.LittleEndian.Uint32(data[off:]))
		resetID := binary.LittleEndian.Uint32(data[off+4:])
		ralign := int(binary.LittleEndian.Uint16(data[off+12:]))
		roff := int(binary.LittleEndian.Uint16(data[off+8:]))
		rsz := int(binary.LittleEndian.Uint16(data[off+10:]))
		nsz := int(binary.LittleEndian.Uint16(data[off+14:]))
		doff := off + pad8(16+nsz)
		if nsz == 0 || off+16+nsz > hdrSize || hsz > maxExtHeader || doff+hsz > hdrSize || len(s.exts) >= maxExtensions {
			damage = fmt.Errorf("%w: bad extension header at %d", errBadIndex, off)
			break
		}
		e := &extension{name: string(data[off+16 : off+16+nsz]), hdr: append([]byte(nil), data[doff:doff+hsz]...), recOff: roff, recSize: rsz, recAlign: ralign, resetID: resetID, inIndex: rsz > 0}
		if rsz > 0 && (roff < 5 || roff+rsz > recSize) {
			e.recSize, e.inIndex = 0, false // record part outside the record: ignore it
			damage = fmt.Errorf("%w: extension %q outside the record", errBadIndex, e.name)
		}
		s.exts = append(s.exts, e)
		switch e.name {
		case "keywords":
			kwExt = e
			s.loadKeywordNames(e.hdr)
		case "modseq":
			modseqExt = e
		case "vsize":
			vsizeExt = e
		}
		off = doff + pad8(hsz)
	}
	if modseqExt != nil && len(modseqExt.hdr) >= 8 {
		s.modseq = binary.LittleEndian.Uint64(modseqExt.hdr)
	}

	// Records.
	count := int(s.u32(hdrMessagesCount))
	avail := (len(data) - hdrSize) / recSize
	if count > avail {
		damage = fmt.Errorf("%w: %d records declared, %d present", errBadIndex, count, avail)
		count = avail
	}
	s.msgs = make([]message, 0, count)
	var last uint32
	for i := 0; i < count; i++ {
		r := data[hdrSize+i*recSize : hdrSize+(i+1)*recSize]
		m := message{uid: binary.LittleEndian.Uint32(r), flags: r[4], modseq: 1}
		if m.uid <= last {
			damage = fmt.Errorf("%w: record %d out of order", errBadIndex, i)
			continue
		}
		last = m.uid
		if kwExt != nil && kwExt.recSize > 0 {
			for bi, by := range r[kwExt.recOff : kwExt.recOff+kwExt.recSize] {
				for bit := 0; bit < 8; bit++ {
					if by&(1<<bit) != 0 && bi*8+bit < len(s.kwNames) {
						m.kw = append(m.kw, uint16(bi*8+bit))
					}
				}
			}
		}
		if modseqExt != nil && modseqExt.recSize >= 8 {
			if ms := binary.LittleEndian.Uint64(r[modseqExt.recOff:]); ms > 0 {
				m.modseq = ms
			}
		}
		if vsizeExt != nil && vsizeExt.recSize == 4 {
			m.vsize = binary.LittleEndian.Uint32(r[vsizeExt.recOff:])
		}
		s.msgs = append(s.msgs, m)
	}
	if last >= s.nextUID() {
		s.setU32(hdrNextUID, last+1)
	}
	return s, info, damage
}

// indexRecords returns the records of a dovecot.index that readIndex
// accepted, by UID (slices of data).
func indexRecords(data []byte) map[uint32][]byte {
	hdrSize := int(binary.LittleEndian.Uint32(data[4:]))
	recSize := int(binary.LittleEndian.Uint32(data[8:]))
	count := int(binary.LittleEndian.Uint32(data[hdrMessagesCount:]))
	out := make(map[uint32][]byte, count)
	for i := 0; i < count && hdrSize+(i+1)*recSize <= len(data); i++ {
		r := data[hdrSize+i*recSize : hdrSize+(i+1)*recSize]
		out[binary.LittleEndian.Uint32(r)] = r
	}
	return out
}
