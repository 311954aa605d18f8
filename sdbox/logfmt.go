package sdbox

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The transaction log (dovecot.index.log, FORMATS.md 1.5): a 40-byte
// header, then 4-byte aligned records {u32 encoded size, u32 type,
// payload}.

// Record types (the low 28 bits of the type word).
const (
	recExpunge        = 0x0001
	recAppend         = 0x0002
	recFlagUpdate     = 0x0004
	recHeaderUpdate   = 0x0020
	recExtIntro       = 0x0040
	recExtReset       = 0x0080
	recExtHdrUpdate   = 0x0100
	recExtRecUpdate   = 0x0200
	recKeywordUpdate  = 0x0400
	recKeywordReset   = 0x0800
	recExtAtomicInc   = 0x1000
	recExpungeGUID    = 0x2000
	recModseqUpdate   = 0x8000
	recExtHdrUpdate32 = 0x10000
	recBoundary       = 0x80000
	recAttribute      = 0x100000

	recTypeMask    = 0x0fffffff
	recExternal    = 0x10000000
	recExpungeProt = 0xcd90
)

const (
	logMajor      = 1
	logMinor      = 3
	logHeaderSize = 40
	// maxLogSize bounds how much of a log yubin reads into memory.
	maxLogSize = 1 << 30
)

var errBadLog = errors.New("sdbox: damaged transaction log")

// logHeader is the header of a dovecot.index.log file.
type logHeader struct {
	HdrSize       int
	IndexID       uint32
	FileSeq       uint32
	PrevFileSeq   uint32
	PrevOffset    uint32
	CreateStamp   uint32
	InitialModseq uint64
}

func parseLogHeader(b []byte) (logHeader, error) {
	var h logHeader
	if len(b) < 24 {
		return h, fmt.Errorf("%w: short header", errBadLog)
	}
	if b[0] != logMajor {
		return h, fmt.Errorf("%w: version %d", errBadLog, b[0])
	}
	h.HdrSize = int(binary.LittleEndian.Uint16(b[2:]))
	if h.HdrSize < 24 || h.HdrSize > len(b) || h.HdrSize > 4096 {
		return h, fmt.Errorf("%w: header size %d", errBadLog, h.HdrSize)
	}
	h.IndexID = binary.LittleEndian.Uint32(b[4:])
	h.FileSeq = binary.LittleEndian.Uint32(b[8:])
	h.PrevFileSeq = binary.LittleEndian.Uint32(b[12:])
	h.PrevOffset = binary.LittleEndian.Uint32(b[16:])
	h.CreateStamp = binary.LittleEndian.Uint32(b[20:])
	if h.HdrSize >= 32 {
		h.InitialModseq = binary.LittleEndian.Uint64(b[24:])
	}
	if h.IndexID == 0 {
		return h, fmt.Errorf("%w: marked corrupted", errBadLog)
	}
	return h, nil
}

func (h logHeader) bytes() []byte {
	b := make([]byte, logHeaderSize)
	b[0], b[1] = logMajor, logMinor
	binary.LittleEndian.PutUint16(b[2:], logHeaderSize)
	binary.LittleEndian.PutUint32(b[4:], h.IndexID)
	binary.LittleEndian.PutUint32(b[8:], h.FileSeq)
	binary.LittleEndian.PutUint32(b[12:], h.PrevFileSeq)
	binary.LittleEndian.PutUint32(b[16:], h.PrevOffset)
	binary.LittleEndian.PutUint32(b[20:], h.CreateStamp)
	binary.LittleEndian.PutUint64(b[24:], h.InitialModseq)
	b[32] = 1 // compat flags: little-endian
	return b
}

// decodeSize decodes a record size word (big-endian, 7 bits per byte,
// every byte's top bit set, in units of 4 bytes).
func decodeSize(b []byte) (int, bool) {
	v := binary.BigEndian.Uint32(b)
	if v&0x80808080 != 0x80808080 {
		return 0, false
	}
	n := (v & 0x7f) | (v>>8&0x7f)<<7 | (v>>16&0x7f)<<14 | (v>>24&0x7f)<<21
	return int(n) << 2, true
}

// encodeSize is the inverse of decodeSize; size is a multiple of 4.
func encodeSize(b []byte, size int) {
	v := uint32(size) >> 2
	b[0] = 0x80 | byte(v>>21&0x7f)
	b[1] = 0x80 | byte(v>>14&0x7f)
	b[2] = 0x80 | byte(v>>7&0x7f)
	b[3] = 0x80 | byte(v&0x7f)
}

func pad4(n int) int { return (n + 3) &^ 3 }
func pad8(n int) int { return (n + 7) &^ 7 }

// logRecord is one record of the log.
type logRecord struct {
	Off  int    // offset of the record in the file
	Type uint32 // full type word
	Body []byte
}

// walkLog calls fn for each complete record of data from off on (data
// is the whole file or the part from base on). It stops before a record
// or a BOUNDARY transaction that runs past the end (still being written,
// or torn by a crash) and returns the offset where it stopped; err
// reports damage that stopped the walk earlier.
func walkLog(data []byte, base, off int, fn func(r logRecord) error) (int, error) {
	for {
		i := off - base
		if i+8 > len(data) {
			return off, nil
		}
		size, ok := decodeSize(data[i:])
		if !ok || size < 8 {
			return off, fmt.Errorf("%w: bad record size at offset %d", errBadLog, off)
		}
		if i+size > len(data) {
			return off, nil
		}
		typ := binary.LittleEndian.Uint32(data[i+4:])
		body := data[i+8 : i+size]
		if typ&recTypeMask == recBoundary {
			if len(body) < 4 {
				return off, fmt.Errorf("%w: bad boundary at offset %d", errBadLog, off)
			}
			n := int(binary.LittleEndian.Uint32(body))
			if n < size || i+n > len(data) {
				// The transaction is not complete (yet): ignore it.
				return off, nil
			}
		}
		if err := fn(logRecord{Off: off, Type: typ, Body: body}); err != nil {
			return off, err
		}
		off += size
	}
}

// txBuilder builds one transaction: a BOUNDARY record followed by
// records, ready to be appended to a log with one write.
type txBuilder struct {
	buf      []byte
	boundary bool
}

func newTx() *txBuilder {
	t := &txBuilder{buf: make([]byte, 12, 256), boundary: true}
	binary.LittleEndian.PutUint32(t.buf[4:], recBoundary|recExternal)
	return t
}

// newRawTx builds records without a boundary (for a new log file, which
// is written whole and renamed into place).
func newRawTx() *txBuilder { return &txBuilder{} }

// add appends a record of the given type with body (padded to 4).
func (t *txBuilder) add(typ uint32, body []byte) {
	size := 8 + pad4(len(body))
	start := len(t.buf)
	t.buf = append(t.buf, make([]byte, size)...)
	encodeSize(t.buf[start:], size)
	binary.LittleEndian.PutUint32(t.buf[start+4:], typ)
	copy(t.buf[start+8:], body)
}

// bytes returns the transaction with its boundary size filled in.
func (t *txBuilder) bytes() []byte {
	if !t.boundary {
		return t.buf
	}
	encodeSize(t.buf, 12)
	binary.LittleEndian.PutUint32(t.buf[8:], uint32(len(t.buf)))
	return t.buf
}

// empty reports whether only the boundary was added.
func (t *txBuilder) empty() bool { return len(t.buf) == 12 || len(t.buf) == 0 }

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// extIntroBody is an EXT_INTRO payload selecting an extension by name.
func extIntroBody(name string, hdrSize uint32, recSize, recAlign, flags uint16) []byte {
	b := le32(0xffffffff)
	b = binary.LittleEndian.AppendUint32(b, 0) // reset_id
	b = binary.LittleEndian.AppendUint32(b, hdrSize)
	b = binary.LittleEndian.AppendUint16(b, recSize)
	b = binary.LittleEndian.AppendUint16(b, recAlign)
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	return append(b, name...)
}

// hdrUpdateBody is a HEADER_UPDATE or EXT_HDR_UPDATE payload.
func hdrUpdateBody(off int, data []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(off))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}
