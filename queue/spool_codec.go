package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"
)

// The spool's on-disk record: every segment and every message file is a
// sequence of records
//
//	[magic "yq"][type 1 byte][payload length, uint32 LE][crc32c, uint32 LE][payload]
//
// The CRC (Castagnoli) covers the payload, the type and the length (in
// that order, so a streamed payload needs no second pass), so
// a torn or flipped record is never taken for a good one. Payloads:
//
//	'M' message:  uvarint envelope length, envelope (encodeSpoolEnvelope), content
//	'O' outcome:  uvarint message offset, uvarint recipient index, status byte, uvarint length + reason
//	'R' removed:  uvarint message offset
//	'W' warned:   uvarint message offset
//
// The message offset is where the message's 'M' record starts in the same
// file: 0 in a message file (deferred/, hold/, a large incoming message).
const (
	recMagic0  = 'y'
	recMagic1  = 'q'
	recHdrSize = 11

	recMessage byte = 'M'
	recOutcome byte = 'O'
	recRemoved byte = 'R'
	recWarned  byte = 'W'

	// envVersion is the version byte that starts every envelope encoding.
	envVersion = 1

	// maxEnvelopeBytes bounds an envelope encoding (about 50,000
	// recipients with long routes).
	maxEnvelopeBytes = 16 << 20
	// maxSmallPayload bounds the payload of an 'O', 'R' or 'W' record.
	maxSmallPayload = 64 << 10
	// maxReasonBytes is where a deferral reason is cut before it is stored.
	maxReasonBytes = 4 << 10
	// maxFieldBytes bounds one string of an envelope.
	maxFieldBytes = 64 << 10
	// maxContentBytes bounds a message's content: the record length is
	// a uint32.
	maxContentBytes = 1<<32 - 1 - maxEnvelopeBytes - binary.MaxVarintLen64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadRecord is wrapped by every error of the record decoder.
var errBadRecord = errors.New("bad spool record")

func badRecord(off int64, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errBadRecord, off, fmt.Sprintf(format, args...))
}

// recordHeader returns the header of a record of type typ whose payload
// is n bytes with the CRC crc (see recordCRCEnd).
func recordHeader(typ byte, n uint32, crc uint32) [recHdrSize]byte {
	var h [recHdrSize]byte
	h[0], h[1], h[2] = recMagic0, recMagic1, typ
	binary.LittleEndian.PutUint32(h[3:7], n)
	binary.LittleEndian.PutUint32(h[7:11], crc)
	return h
}

// recordCRCEnd finishes crc, the CRC of a payload, with the record's
// type and length.
func recordCRCEnd(crc uint32, typ byte, n uint32) uint32 {
	var b [5]byte
	b[0] = typ
	binary.LittleEndian.PutUint32(b[1:], n)
	return crc32.Update(crc, castagnoli, b[:])
}

// appendRecord appends a complete record of type typ with payload p.
func appendRecord(dst []byte, typ byte, p []byte) []byte {
	n := uint32(len(p))
	h := recordHeader(typ, n, recordCRCEnd(crc32.Update(0, castagnoli, p), typ, n))
	dst = append(dst, h[:]...)
	return append(dst, p...)
}

// outcomeRecord is an 'O' record: recipient idx of the message at off.
func outcomeRecord(off int64, idx int, st Status, reason string) []byte {
	if len(reason) > maxReasonBytes {
		reason = reason[:maxReasonBytes]
	}
	p := make([]byte, 0, 24+len(reason))
	p = binary.AppendUvarint(p, uint64(off))
	p = binary.AppendUvarint(p, uint64(idx))
	p = append(p, byte(st))
	p = binary.AppendUvarint(p, uint64(len(reason)))
	p = append(p, reason...)
	return appendRecord(nil, recOutcome, p)
}

// markRecord is an 'R' or 'W' record for the message at off.
func markRecord(typ byte, off int64) []byte {
	return appendRecord(nil, typ, binary.AppendUvarint(nil, uint64(off)))
}

// spoolRecord is one good record found by scanRecords.
type spoolRecord struct {
	off int64 // where the record starts
	end int64 // where the next one starts
	typ byte

	// 'M'
	env   *Envelope
	coff  int64 // content offset in the file
	csize int64 // content length

	// 'O', 'R', 'W'
	moff   int64 // the message's offset
	idx    int
	status Status
	reason string
}

// scanRecords reads the records of r (size bytes), calling fn for each
// good one in order. It returns where the good records end and, when it
// stopped before size, why (an error wrapping errBadRecord for a torn,
// cut-short or corrupted record, or fn's or r's error). It allocates no
// more than maxEnvelopeBytes or the file's size, whichever is smaller,
// whatever a length on disk says.
func scanRecords(r io.ReaderAt, size int64, fn func(*spoolRecord) error) (int64, error) {
	var (
		hdr [recHdrSize]byte
		buf []byte
		pos int64
	)
	for pos < size {
		if size-pos < recHdrSize {
			return pos, badRecord(pos, "%d bytes, too short for a record", size-pos)
		}
		if _, err := r.ReadAt(hdr[:], pos); err != nil {
			return pos, err
		}
		if hdr[0] != recMagic0 || hdr[1] != recMagic1 {
			return pos, badRecord(pos, "no record magic")
		}
		typ := hdr[2]
		n := binary.LittleEndian.Uint32(hdr[3:7])
		want := binary.LittleEndian.Uint32(hdr[7:11])
		if int64(n) > size-pos-recHdrSize {
			return pos, badRecord(pos, "record of %d bytes runs past the end (%d)", n, size)
		}
		rec := &spoolRecord{off: pos, typ: typ, end: pos + recHdrSize + int64(n)}
		var crc uint32
		switch typ {
		case recMessage:
			// The envelope: its length first, then the envelope itself.
			var lb [binary.MaxVarintLen64]byte
			lbn := min(int64(len(lb)), int64(n))
			if _, err := r.ReadAt(lb[:lbn], pos+recHdrSize); err != nil {
				return pos, err
			}
			elen, k := binary.Uvarint(lb[:lbn])
			if k <= 0 || elen > maxEnvelopeBytes || elen > uint64(n)-uint64(k) {
				return pos, badRecord(pos, "bad envelope length")
			}
			ehead := int(k) + int(elen)
			eb, err := spoolReadFull(r, &buf, pos+recHdrSize, ehead)
			if err != nil {
				return pos, err
			}
			crc = crc32.Update(crc, castagnoli, eb)
			rec.coff = pos + recHdrSize + int64(ehead)
			rec.csize = int64(n) - int64(ehead)
			c, err := crcOf(r, rec.coff, rec.csize, crc)
			if err != nil {
				return pos, err
			}
			if recordCRCEnd(c, typ, n) != want {
				return pos, badRecord(pos, "checksum mismatch")
			}
			env, err := decodeSpoolEnvelope(eb[k:])
			if err != nil {
				return pos, badRecord(pos, "envelope: %v", err)
			}
			rec.env = env
		case recOutcome, recRemoved, recWarned:
			if n > maxSmallPayload {
				return pos, badRecord(pos, "%c record of %d bytes", typ, n)
			}
			p, err := spoolReadFull(r, &buf, pos+recHdrSize, int(n))
			if err != nil {
				return pos, err
			}
			if recordCRCEnd(crc32.Update(crc, castagnoli, p), typ, n) != want {
				return pos, badRecord(pos, "checksum mismatch")
			}
			if err := decodeMark(rec, p); err != nil {
				return pos, badRecord(pos, "%v", err)
			}
		default:
			return pos, badRecord(pos, "unknown record type %#x", typ)
		}
		if err := fn(rec); err != nil {
			return pos, err
		}
		pos = rec.end
	}
	return pos, nil
}

// spoolReadFull returns n bytes of r at off: a part of r itself when r is in
// memory, else read into *buf (grown as needed).
func spoolReadFull(r io.ReaderAt, buf *[]byte, off int64, n int) ([]byte, error) {
	if m, ok := r.(memFile); ok {
		if off < 0 || off+int64(n) > int64(len(m)) {
			return nil, io.ErrUnexpectedEOF
		}
		return m[off : off+int64(n)], nil
	}
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if k, err := r.ReadAt(b, off); k < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// memFile is a file read whole into memory.
type memFile []byte

func (m memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m)) {
		if len(p) == 0 && off == int64(len(m)) {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// crcBufs are the read buffers of crcOf.
var crcBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// crcOf updates crc with n bytes of r at off.
func crcOf(r io.ReaderAt, off, n int64, crc uint32) (uint32, error) {
	if m, ok := r.(memFile); ok {
		if off < 0 || n < 0 || off+n > int64(len(m)) {
			return crc, io.ErrUnexpectedEOF
		}
		return crc32.Update(crc, castagnoli, m[off:off+n]), nil
	}
	b := crcBufs.Get().(*[32 << 10]byte)
	defer crcBufs.Put(b)
	for n > 0 {
		k := min(n, int64(len(b)))
		m, err := r.ReadAt(b[:k], off)
		crc = crc32.Update(crc, castagnoli, b[:m])
		if int64(m) < k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return crc, err
		}
		off += k
		n -= k
	}
	return crc, nil
}

// decodeMark decodes the payload of an 'O', 'R' or 'W' record into rec.
func decodeMark(rec *spoolRecord, p []byte) error {
	d := spoolDecoder{b: p}
	moff := d.uvarint()
	if moff > 1<<62 {
		d.fail("message offset out of range")
	}
	rec.moff = int64(moff)
	if rec.typ == recOutcome {
		idx := d.uvarint()
		if idx > 1<<30 {
			d.fail("recipient index out of range")
		}
		rec.idx = int(idx)
		st := Status(d.byte())
		if st != Sent && st != Bounced && st != Deferred {
			d.fail("bad status")
		}
		rec.status = st
		rec.reason = d.string(maxReasonBytes)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

// encodeSpoolEnvelope is the envelope's version 1 encoding: a version byte,
// then the fields in a fixed order, strings as uvarint length + bytes.
func encodeSpoolEnvelope(env *Envelope) ([]byte, error) {
	b := make([]byte, 0, 128+64*len(env.Recipients))
	b = append(b, envVersion)
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	str(env.ID)
	str(env.From)
	b = binary.AppendUvarint(b, uint64(len(env.Recipients)))
	for i := range env.Recipients {
		r := &env.Recipients[i]
		str(r.Addr)
		str(r.Orig)
		str(r.Notify)
		str(r.ORcpt)
		str(r.Transport)
		str(r.Nexthop)
	}
	b = binary.AppendVarint(b, env.Arrival.UnixNano())
	str(env.Ret)
	str(env.EnvID)
	str(env.Body)
	var flags byte
	if env.UTF8 {
		flags |= 1
	}
	if env.Hold {
		flags |= 2
	}
	b = append(b, flags)
	str(env.Auth)
	str(env.Client.Addr)
	str(env.Client.Name)
	str(env.Client.Helo)
	str(env.Client.Protocol)
	if env.Hops < 0 {
		return nil, errors.New("negative hop count")
	}
	b = binary.AppendUvarint(b, uint64(env.Hops))
	if len(b) > maxEnvelopeBytes {
		return nil, fmt.Errorf("envelope of %d bytes is over the limit of %d", len(b), maxEnvelopeBytes)
	}
	return b, nil
}

// decodeSpoolEnvelope decodes what encodeSpoolEnvelope wrote. Every string is
// bounded by maxFieldBytes and the recipient count by the input's length.
func decodeSpoolEnvelope(p []byte) (*Envelope, error) {
	d := spoolDecoder{b: p}
	if v := d.byte(); d.err == nil && v != envVersion {
		return nil, fmt.Errorf("envelope version %d, want %d", v, envVersion)
	}
	env := &Envelope{}
	env.ID = d.string(maxFieldBytes)
	env.From = d.string(maxFieldBytes)
	n := d.uvarint()
	// Each recipient takes at least 6 bytes: never allocate more than the
	// input could hold.
	if n > uint64(len(d.b))/6 {
		d.fail("recipient count too large")
	}
	if d.err == nil {
		env.Recipients = make([]Recipient, n)
		for i := range env.Recipients {
			r := &env.Recipients[i]
			r.Addr = d.string(maxFieldBytes)
			r.Orig = d.string(maxFieldBytes)
			r.Notify = d.string(maxFieldBytes)
			r.ORcpt = d.string(maxFieldBytes)
			r.Transport = d.string(maxFieldBytes)
			r.Nexthop = d.string(maxFieldBytes)
		}
	}
	env.Arrival = time.Unix(0, d.varint())
	env.Ret = d.string(maxFieldBytes)
	env.EnvID = d.string(maxFieldBytes)
	env.Body = d.string(maxFieldBytes)
	flags := d.byte()
	if flags&^3 != 0 {
		d.fail("unknown flags")
	}
	env.UTF8 = flags&1 != 0
	env.Hold = flags&2 != 0
	env.Auth = d.string(maxFieldBytes)
	env.Client.Addr = d.string(maxFieldBytes)
	env.Client.Name = d.string(maxFieldBytes)
	env.Client.Helo = d.string(maxFieldBytes)
	env.Client.Protocol = d.string(maxFieldBytes)
	hops := d.uvarint()
	if hops > 1<<20 {
		d.fail("hop count out of range")
	}
	env.Hops = int(hops)
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err == nil && !validQueueID(env.ID) {
		d.fail("bad queue id")
	}
	if d.err != nil {
		return nil, d.err
	}
	return env, nil
}

// spoolDecoder reads a record payload; the first error sticks and later reads
// return zero values.
type spoolDecoder struct {
	b   []byte
	err error
}

func (d *spoolDecoder) fail(msg string) {
	if d.err == nil {
		d.err = errors.New(msg)
	}
}

func (d *spoolDecoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("cut short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *spoolDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *spoolDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *spoolDecoder) string(limit int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.fail("string too long")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
