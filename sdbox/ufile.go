package sdbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// A u.N file (FORMATS.md 1.2): a file header line "2 M1e C<hex>\n", a
// 30-byte message header holding the body size, the raw body, then a
// metadata block "\n\x01\x03\n" KEY value lines and an empty line.

const (
	// msgHeaderSize is the per-message header Dovecot writes (M1e).
	msgHeaderSize = 30
	// maxFileHeader bounds the file header line.
	maxFileHeader = 256
	// maxMsgHeader bounds the M value a file may declare.
	maxMsgHeader = 4096
	// maxMetadata bounds the metadata block read after the body.
	maxMetadata = 64 << 10
)

var metadataMagic = []byte("\n\x01\x03\n")

// errBadFile reports a u.N file that is not in the dbox format.
var errBadFile = errors.New("sdbox: damaged message file")

// fileLayout is where the parts of a u.N file are.
type fileLayout struct {
	BodyOffset int64 // first byte of the message
	BodySize   int64 // bytes of the message
	Created    time.Time
}

// parseFileHeader parses the start of a u.N file (at least the file
// header line and the message header; pass up to maxFileHeader+
// maxMsgHeader bytes) and the file's total size.
func parseFileHeader(head []byte, fileSize int64) (fileLayout, error) {
	var l fileLayout
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 || nl > maxFileHeader {
		return l, fmt.Errorf("%w: no file header line", errBadFile)
	}
	line := head[:nl]
	if len(line) < 2 || (line[0] != '1' && line[0] != '2') || line[1] != ' ' {
		return l, fmt.Errorf("%w: bad version", errBadFile)
	}
	var mSize int64
	for _, f := range bytes.Fields(line[2:]) {
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(string(f[1:]), 16, 63)
		if err != nil {
			continue
		}
		switch f[0] {
		case 'M':
			mSize = int64(v)
		case 'C':
			if v < 1<<40 {
				l.Created = time.Unix(int64(v), 0)
			}
		}
	}
	if mSize < 4 || mSize > maxMsgHeader {
		return l, fmt.Errorf("%w: bad message header size", errBadFile)
	}
	start := int64(nl + 1)
	if int64(len(head)) < start+mSize {
		return l, fmt.Errorf("%w: truncated message header", errBadFile)
	}
	mh := head[start : start+mSize]
	if mh[0] != 0x01 || mh[1] != 0x02 || mh[mSize-1] != '\n' {
		return l, fmt.Errorf("%w: bad message header magic", errBadFile)
	}
	if mSize < msgHeaderSize {
		return l, fmt.Errorf("%w: message header too short", errBadFile)
	}
	size, err := strconv.ParseUint(string(mh[13:29]), 16, 63)
	if err != nil {
		return l, fmt.Errorf("%w: bad message size", errBadFile)
	}
	l.BodyOffset = start + mSize
	l.BodySize = int64(size)
	if l.BodyOffset+l.BodySize > fileSize {
		return l, fmt.Errorf("%w: truncated body (%d bytes declared, %d present)", errBadFile, l.BodySize, fileSize-l.BodyOffset)
	}
	return l, nil
}

// metaLine is one metadata record: a key letter and its value.
type metaLine struct {
	Key   byte
	Value string
}

// parseMetadata parses the block that follows the body. It returns the
// lines read and an error when the block is missing, unterminated or
// too big; the lines read before the damage are still returned.
func parseMetadata(b []byte) ([]metaLine, error) {
	if !bytes.HasPrefix(b, metadataMagic) {
		return nil, fmt.Errorf("%w: no metadata block", errBadFile)
	}
	b = b[len(metadataMagic):]
	var out []metaLine
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return out, fmt.Errorf("%w: unterminated metadata line", errBadFile)
		}
		if nl == 0 {
			return out, nil
		}
		out = append(out, metaLine{Key: b[0], Value: string(b[1:nl])})
		b = b[nl+1:]
	}
	return out, fmt.Errorf("%w: metadata block without its empty line", errBadFile)
}

// fileHeaderBytes is the file header line and message header of a
// message of size bytes created at created, as Dovecot writes them.
func fileHeaderBytes(created time.Time, size int64) []byte {
	b := fmt.Appendf(nil, "2 M1e C%x\n", created.Unix())
	b = append(b, 0x01, 0x02, 'N', ' ')
	b = append(b, "         "...) // 8 spaces of the v1 UID field, then a space
	b = fmt.Appendf(b, "%016X\n", size)
	return b
}

// metadataBytes is the metadata block Dovecot writes: R, V, P (if set),
// G, then the extra (unknown) lines, then the empty line.
func metadataBytes(received time.Time, vsize int64, pop3UIDL, guid string, extra []metaLine) []byte {
	b := append([]byte(nil), metadataMagic...)
	b = fmt.Appendf(b, "R%x\nV%x\n", received.Unix(), vsize)
	if pop3UIDL != "" {
		b = fmt.Appendf(b, "P%s\n", pop3UIDL)
	}
	if guid != "" {
		b = fmt.Appendf(b, "G%s\n", guid)
	}
	for _, m := range extra {
		b = append(b, m.Key)
		b = append(b, m.Value...)
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// msgMeta is what yubin reads from a u.N file about its message.
type msgMeta struct {
	Layout   fileLayout
	GUID     string
	Received time.Time
	VSize    int64 // -1 when the file has no V line
	POP3UIDL string
	Lines    []metaLine // all metadata lines, in file order
	SaveDate time.Time  // the file's change time
	Damage   error      // what was wrong with the file, if anything
	// cached: read from yubin's cache (metacache.go), which keeps only
	// GUID, Received, VSize and SaveDate.
	cached bool
}

// readMeta reads a u.N file's layout and metadata through r (size bytes).
func readMeta(r io.ReaderAt, size int64) (*msgMeta, error) {
	head := make([]byte, min(size, maxFileHeader+maxMsgHeader))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	l, err := parseFileHeader(head, size)
	if err != nil {
		return nil, err
	}
	m := &msgMeta{Layout: l, VSize: -1}
	tail := size - (l.BodyOffset + l.BodySize)
	if tail > maxMetadata {
		tail = maxMetadata
	}
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, l.BodyOffset+l.BodySize); err != nil && err != io.EOF {
		return nil, err
	}
	m.Lines, m.Damage = parseMetadata(buf)
	for _, ml := range m.Lines {
		switch ml.Key {
		case 'G':
			m.GUID = ml.Value
		case 'R':
			if v, err := strconv.ParseUint(ml.Value, 16, 40); err == nil {
				m.Received = time.Unix(int64(v), 0)
			}
		case 'V':
			if v, err := strconv.ParseUint(ml.Value, 16, 62); err == nil {
				m.VSize = int64(v)
			}
		case 'P':
			m.POP3UIDL = ml.Value
		}
	}
	return m, nil
}
