package maildir

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// dovecot-uidlist (version 3, FORMATS.md 2.4):
//
//	3 V<uidvalidity> N<nextuid> G<mailbox guid> [other fields]
//	<uid> [<ext> ...] :<base file name>
//
// Version 1 headers ("1 <uidvalidity> <nextuid>") and records without the
// ':' marker ("<uid> <base>") are read too.

// maxUIDListLine bounds one line of a dovecot-uidlist.
const maxUIDListLine = 64 << 10

var errUIDListHeader = errors.New("maildir: bad dovecot-uidlist header")

type uidlistHeader struct {
	Version     int
	UIDValidity uint32
	NextUID     uint32
	GUID        string
	Extra       []string // unknown header fields, written back as found
}

type uidRecord struct {
	UID  uint32
	Ext  string // extension fields ("S32 W35"), without the trailing space
	Base string
}

// parseUIDListHeader parses the first line (without its LF).
func parseUIDListHeader(line string) (uidlistHeader, error) {
	var h uidlistHeader
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return h, errUIDListHeader
	}
	switch fields[0] {
	case "1":
		if len(fields) < 3 {
			return h, errUIDListHeader
		}
		v, err1 := strconv.ParseUint(fields[1], 10, 32)
		n, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil || v == 0 {
			return h, errUIDListHeader
		}
		return uidlistHeader{Version: 1, UIDValidity: uint32(v), NextUID: uint32(n)}, nil
	case "3":
		h.Version = 3
		for _, f := range fields[1:] {
			switch f[0] {
			case 'V':
				v, err := strconv.ParseUint(f[1:], 10, 32)
				if err != nil {
					return h, errUIDListHeader
				}
				h.UIDValidity = uint32(v)
			case 'N':
				n, err := strconv.ParseUint(f[1:], 10, 32)
				if err != nil {
					return h, errUIDListHeader
				}
				h.NextUID = uint32(n)
			case 'G':
				h.GUID = f[1:]
			default:
				h.Extra = append(h.Extra, f)
			}
		}
		if h.UIDValidity == 0 {
			return h, errUIDListHeader
		}
		return h, nil
	}
	return h, errUIDListHeader
}

// parseUIDRecord parses one record line (without its LF).
func parseUIDRecord(line string) (uidRecord, bool) {
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 {
		return uidRecord{}, false
	}
	uid, err := strconv.ParseUint(line[:sp], 10, 32)
	if err != nil || uid == 0 {
		return uidRecord{}, false
	}
	rest := line[sp+1:]
	r := uidRecord{UID: uint32(uid)}
	if i := strings.IndexByte(rest, ':'); i >= 0 && (i == 0 || rest[i-1] == ' ') {
		r.Ext = strings.TrimSpace(rest[:i])
		r.Base = rest[i+1:]
	} else {
		// Version 1 style: "<uid> <name>".
		r.Base = strings.TrimSpace(rest)
	}
	if r.Base == "" || strings.ContainsAny(r.Base, "/\x00") {
		return uidRecord{}, false
	}
	return r, true
}

// uidlistParse is the result of reading a dovecot-uidlist.
type uidlistParse struct {
	Header  uidlistHeader
	Records []uidRecord
	// MaxUID is the largest UID found on any line, also on lines that
	// were dropped as damaged: a damaged file must not make yubin hand
	// out a UID that a message already had.
	MaxUID uint32
	// Damaged reports lines that could not be used (the file should be
	// rewritten).
	Damaged bool
	// Consumed is the number of bytes of complete lines read.
	Consumed int

	onRecord func(uidRecord) // when set, receives records instead of Records
	last     uint32          // UID of the last good record
}

// parseUIDList parses a whole file. A bad header is an error (the file
// must be recreated, with a new UIDVALIDITY); bad or out-of-order record
// lines are skipped and reported through Damaged.
func parseUIDList(data string) (uidlistParse, error) {
	return parseUIDListFunc(data, nil)
}

// parseUIDListFunc is parseUIDList handing each record to fn (when not
// nil) instead of collecting them.
func parseUIDListFunc(data string, fn func(uidRecord)) (uidlistParse, error) {
	p := uidlistParse{onRecord: fn}
	nl := strings.IndexByte(data, '\n')
	if nl < 0 || nl > maxUIDListLine {
		return p, errUIDListHeader
	}
	h, err := parseUIDListHeader(data[:nl])
	if err != nil {
		return p, err
	}
	p.Header = h
	p.Consumed = nl + 1
	if fn == nil {
		p.Records = make([]uidRecord, 0, strings.Count(data[nl+1:], "\n"))
	}
	p.parseRecords(data[nl+1:], 0)
	return p, nil
}

// parseRecords parses complete record lines from data (which starts at a
// line boundary) and appends them; last is the UID of the last record
// already held (records must be strictly increasing).
//
// Record strings are substrings of data (no copy per line).
func (p *uidlistParse) parseRecords(data string, last uint32) {
	if p.last > last {
		last = p.last
	}
	defer func() { p.last = last }()
	for len(data) > 0 {
		nl := strings.IndexByte(data, '\n')
		if nl < 0 {
			// A truncated last line: note its UID if it has one.
			p.Damaged = true
			p.noteUID(data)
			return
		}
		line := data[:nl]
		data = data[nl+1:]
		p.Consumed += nl + 1
		if len(line) > maxUIDListLine {
			p.Damaged = true
			continue
		}
		r, ok := parseUIDRecord(line)
		if !ok || r.UID <= last {
			p.Damaged = true
			p.noteUID(line)
			continue
		}
		if p.onRecord != nil {
			p.onRecord(r)
		} else {
			p.Records = append(p.Records, r)
		}
		last = r.UID
		if r.UID > p.MaxUID {
			p.MaxUID = r.UID
		}
	}
}

func (p *uidlistParse) noteUID(line string) {
	end := 0
	for end < len(line) && end < 10 && line[end] >= '0' && line[end] <= '9' {
		end++
	}
	if end > 0 && end < len(line) && line[end] == ' ' {
		if v, err := strconv.ParseUint(line[:end], 10, 32); err == nil && uint32(v) > p.MaxUID {
			p.MaxUID = uint32(v)
		}
	}
}

// formatUIDListHeader writes a version 3 header line with its LF.
func formatUIDListHeader(h uidlistHeader) string {
	s := fmt.Sprintf("3 V%d N%d", h.UIDValidity, h.NextUID)
	if h.GUID != "" {
		s += " G" + h.GUID
	}
	for _, e := range h.Extra {
		s += " " + e
	}
	return s + "\n"
}

// appendUIDRecord appends one record line with its LF to b.
func appendUIDRecord(b []byte, r uidRecord) []byte {
	b = strconv.AppendUint(b, uint64(r.UID), 10)
	b = append(b, ' ')
	if r.Ext != "" {
		b = append(b, r.Ext...)
		b = append(b, ' ')
	}
	b = append(b, ':')
	b = append(b, r.Base...)
	return append(b, '\n')
}
