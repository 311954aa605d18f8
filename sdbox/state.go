package sdbox

import (
	"encoding/binary"
	"sort"
	"strings"
)

// Offsets in the 120-byte base header of dovecot.index.
const (
	baseHeaderSize    = 120
	hdrUIDValidity    = 24
	hdrNextUID        = 28
	hdrMessagesCount  = 32
	hdrSeenCount      = 40
	hdrDeletedCount   = 44
	hdrFirstRecentUID = 48
	hdrLogFileSeq     = 60
	hdrLogTailOffset  = 64
	hdrLogHeadOffset  = 68
	hdrLog2RotateTime = 76
	maxExtensions     = 64
	maxExtHeader      = 64 << 10
	maxKeywords       = 1024
	maxKeywordLen     = 1024
)

// Dovecot's index flag bits.
const (
	flagAnswered = 0x01
	flagFlagged  = 0x02
	flagDeleted  = 0x04
	flagSeen     = 0x08
	flagDraft    = 0x10
	flagsMask    = 0x1f
)

// message is what the index says about one message.
type message struct {
	uid    uint32
	flags  uint8
	kw     []uint16 // keyword numbers, ascending
	modseq uint64
	vsize  uint32 // Dovecot's "vsize" extension: virtual size + 1, 0 unknown
}

// extension is one index extension (dbox-hdr, keywords, vsize...).
type extension struct {
	name     string
	hdr      []byte
	recOff   int
	recSize  int
	recAlign int
	resetID  uint32
	// inIndex: the extension's record part is at recOff in the records
	// of the dovecot.index read (and still valid: not reset or resized
	// since), so an index writer can copy it from there.
	inIndex bool
}

// state is a mailbox as dovecot.index plus the replayed log describe it.
type state struct {
	hdr     [baseHeaderSize]byte
	exts    []*extension
	kwNames []string
	msgs    []message // ascending UID
	modseq  uint64    // the log's modseq counter where replay stands
	cur     *extension
	curRec  int // record size of cur as the EXT_INTRO declared it
	// expReq, when not nil, collects the UID ranges of expunge requests
	// (non-external expunge records: Dovecot has yet to remove the
	// files); an index writer must leave those to Dovecot.
	expReq *[][2]uint32
}

func (s *state) u32(off int) uint32 { return binary.LittleEndian.Uint32(s.hdr[off:]) }

func (s *state) setU32(off int, v uint32) { binary.LittleEndian.PutUint32(s.hdr[off:], v) }

func (s *state) uidValidity() uint32 { return s.u32(hdrUIDValidity) }
func (s *state) nextUID() uint32     { return s.u32(hdrNextUID) }

func (s *state) ext(name string) *extension {
	for _, e := range s.exts {
		if e.name == name {
			return e
		}
	}
	return nil
}

// mailboxGUID returns the dbox-hdr mailbox GUID (zero when unknown).
func (s *state) mailboxGUID() (g [16]byte) {
	if e := s.ext("dbox-hdr"); e != nil && len(e.hdr) >= 20 {
		copy(g[:], e.hdr[4:20])
	}
	return g
}

// find returns the position of the first message with UID >= uid.
func (s *state) find(uid uint32) int {
	return sort.Search(len(s.msgs), func(i int) bool { return s.msgs[i].uid >= uid })
}

// lookup returns the message with uid, or nil.
func (s *state) lookup(uid uint32) *message {
	i := s.find(uid)
	if i < len(s.msgs) && s.msgs[i].uid == uid {
		return &s.msgs[i]
	}
	return nil
}

// keyword returns the number of a keyword (case-insensitively), adding
// it when add is set; -1 when absent.
func (s *state) keyword(name string, add bool) int {
	for i, k := range s.kwNames {
		if strings.EqualFold(k, name) {
			return i
		}
	}
	if !add || len(s.kwNames) >= maxKeywords {
		return -1
	}
	s.kwNames = append(s.kwNames, name)
	return len(s.kwNames) - 1
}

// keywordNames returns the names of a message's keywords.
func (s *state) keywordNames(m *message) []string {
	if len(m.kw) == 0 {
		return nil
	}
	out := make([]string, 0, len(m.kw))
	for _, k := range m.kw {
		if int(k) < len(s.kwNames) {
			out = append(out, s.kwNames[k])
		}
	}
	return out
}

func hasKw(kw []uint16, k uint16) bool {
	for _, x := range kw {
		if x == k {
			return true
		}
	}
	return false
}

func addKw(kw []uint16, k uint16) []uint16 {
	if hasKw(kw, k) {
		return kw
	}
	out := make([]uint16, 0, len(kw)+1)
	out = append(out, kw...)
	out = append(out, k)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func removeKw(kw []uint16, k uint16) []uint16 {
	if !hasKw(kw, k) {
		return kw
	}
	var out []uint16
	for _, x := range kw {
		if x != k {
			out = append(out, x)
		}
	}
	return out
}

// changeFn receives the changes a replay makes: kind is one of the
// store.Change kinds (as ints, to keep this file format-only).
type changeFn func(kind int, uid uint32)

const (
	evNew = iota + 1
	evFlags
	evExpunge
)

// apply applies one log record. Only changes that alter the state are
// reported to emit (nil ignores them): applying a record again (a
// handle's own, already applied) reports nothing.
func (s *state) apply(r logRecord, emit changeFn) {
	typ := r.Type & recTypeMask
	b := r.Body
	external := r.Type&recExternal != 0
	if typ&recExpungeProt == recExpungeProt && (typ&^recExpungeProt == recExpunge || typ&^recExpungeProt == recExpungeGUID) {
		typ &^= recExpungeProt
		if !external {
			// An expunge request: the expunge happens later.
			if s.expReq != nil {
				s.noteExpungeRequest(typ, b)
			}
			return
		}
		s.modseq++
		step := 8
		if typ == recExpungeGUID {
			step = 20
		}
		for p := 0; p+step <= len(b); p += step {
			u1 := binary.LittleEndian.Uint32(b[p:])
			u2 := u1
			if typ == recExpunge {
				u2 = binary.LittleEndian.Uint32(b[p+4:])
			}
			s.expunge(u1, u2, emit)
		}
		return
	}
	switch typ {
	case recAppend:
		s.modseq++
		for p := 0; p+8 <= len(b); p += 8 {
			uid := binary.LittleEndian.Uint32(b[p:])
			if uid == 0 {
				continue
			}
			if uid >= s.nextUID() {
				s.setU32(hdrNextUID, uid+1)
			}
			i := s.find(uid)
			if i < len(s.msgs) && s.msgs[i].uid == uid {
				continue
			}
			m := message{uid: uid, flags: b[p+4], modseq: s.modseq}
			if i == len(s.msgs) {
				s.msgs = append(s.msgs, m)
			} else {
				s.msgs = append(s.msgs, message{})
				copy(s.msgs[i+1:], s.msgs[i:])
				s.msgs[i] = m
			}
			if emit != nil {
				emit(evNew, uid)
			}
		}
	case recFlagUpdate:
		inc := false
		for p := 0; p+12 <= len(b); p += 12 {
			if (b[p+8]|b[p+9])&flagsMask != 0 || b[p+10] != 0 {
				inc = true
			}
		}
		if inc {
			s.modseq++
		}
		for p := 0; p+12 <= len(b); p += 12 {
			u1 := binary.LittleEndian.Uint32(b[p:])
			u2 := binary.LittleEndian.Uint32(b[p+4:])
			add, remove := b[p+8], b[p+9]
			for i := s.find(u1); i < len(s.msgs) && s.msgs[i].uid <= u2; i++ {
				m := &s.msgs[i]
				old := m.flags
				nf := (old &^ remove) | add
				if nf == old {
					continue
				}
				m.flags = nf
				if (nf^old)&flagsMask != 0 {
					if inc {
						m.modseq = s.modseq
					}
					if emit != nil {
						emit(evFlags, m.uid)
					}
				}
			}
		}
	case recKeywordUpdate:
		s.modseq++
		if len(b) < 4 {
			return
		}
		mod := b[0]
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if n == 0 || n > maxKeywordLen || 4+n > len(b) {
			return
		}
		k := s.keyword(string(b[4:4+n]), mod == 0)
		if k < 0 {
			return
		}
		for p := pad4(4 + n); p+8 <= len(b); p += 8 {
			u1 := binary.LittleEndian.Uint32(b[p:])
			u2 := binary.LittleEndian.Uint32(b[p+4:])
			for i := s.find(u1); i < len(s.msgs) && s.msgs[i].uid <= u2; i++ {
				m := &s.msgs[i]
				var nk []uint16
				if mod == 0 {
					nk = addKw(m.kw, uint16(k))
				} else {
					nk = removeKw(m.kw, uint16(k))
				}
				if len(nk) != len(m.kw) {
					m.kw = nk
					m.modseq = s.modseq
					if emit != nil {
						emit(evFlags, m.uid)
					}
				}
			}
		}
	case recKeywordReset:
		s.modseq++
		for p := 0; p+8 <= len(b); p += 8 {
			u1 := binary.LittleEndian.Uint32(b[p:])
			u2 := binary.LittleEndian.Uint32(b[p+4:])
			for i := s.find(u1); i < len(s.msgs) && s.msgs[i].uid <= u2; i++ {
				m := &s.msgs[i]
				if len(m.kw) > 0 {
					m.kw = nil
					m.modseq = s.modseq
					if emit != nil {
						emit(evFlags, m.uid)
					}
				}
			}
		}
	case recModseqUpdate:
		for p := 0; p+12 <= len(b); p += 12 {
			uid := binary.LittleEndian.Uint32(b[p:])
			ms := uint64(binary.LittleEndian.Uint32(b[p+4:])) | uint64(binary.LittleEndian.Uint32(b[p+8:]))<<32
			if ms > s.modseq {
				s.modseq = ms
			}
			if m := s.lookup(uid); m != nil && ms > m.modseq {
				m.modseq = ms
			}
		}
	case recAttribute:
		s.modseq++
	case recHeaderUpdate:
		for p := 0; p+4 <= len(b); {
			o := int(binary.LittleEndian.Uint16(b[p:]))
			n := int(binary.LittleEndian.Uint16(b[p+2:]))
			if p+4+n > len(b) {
				break
			}
			if o+n <= baseHeaderSize {
				copy(s.hdr[o:], b[p+4:p+4+n])
			}
			p = pad4(p + 4 + n)
		}
	case recExtIntro:
		s.extIntro(b)
	case recExtReset:
		if s.cur != nil && len(b) >= 5 {
			s.cur.resetID = binary.LittleEndian.Uint32(b)
			if b[4] == 0 {
				// Not preserved: the extension's data starts over.
				clear(s.cur.hdr)
				s.cur.inIndex = false
				if s.cur.name == "vsize" {
					for i := range s.msgs {
						s.msgs[i].vsize = 0
					}
				}
			}
		}
	case recExtHdrUpdate, recExtHdrUpdate32:
		if s.cur == nil {
			return
		}
		w := 2
		if typ == recExtHdrUpdate32 {
			w = 4
		}
		for p := 0; p+2*w <= len(b); {
			var o, n int
			if w == 2 {
				o, n = int(binary.LittleEndian.Uint16(b[p:])), int(binary.LittleEndian.Uint16(b[p+2:]))
			} else {
				o, n = int(binary.LittleEndian.Uint32(b[p:])), int(binary.LittleEndian.Uint32(b[p+4:]))
			}
			if n < 0 || o < 0 || p+2*w+n > len(b) || o+n > maxExtHeader {
				break
			}
			if len(s.cur.hdr) < o+n {
				s.cur.hdr = append(s.cur.hdr, make([]byte, o+n-len(s.cur.hdr))...)
			}
			copy(s.cur.hdr[o:], b[p+2*w:p+2*w+n])
			p = pad4(p + 2*w + n)
		}
	case recExtRecUpdate:
		if s.cur == nil || s.cur.name != "vsize" || s.curRec != 4 {
			return
		}
		step := pad4(4 + s.curRec)
		for p := 0; p+4+s.curRec <= len(b); p += step {
			if m := s.lookup(binary.LittleEndian.Uint32(b[p:])); m != nil {
				m.vsize = binary.LittleEndian.Uint32(b[p+4:])
			}
		}
	}
}

// expunge removes the messages with UIDs u1..u2.
func (s *state) expunge(u1, u2 uint32, emit changeFn) {
	i := s.find(u1)
	j := i
	for j < len(s.msgs) && s.msgs[j].uid <= u2 {
		if emit != nil {
			emit(evExpunge, s.msgs[j].uid)
		}
		j++
	}
	if j > i {
		s.msgs = append(s.msgs[:i], s.msgs[j:]...)
	}
}

// extIntro selects (creating if needed) the extension of an EXT_INTRO.
func (s *state) extIntro(b []byte) {
	s.cur = nil
	if len(b) < 20 {
		return
	}
	id := binary.LittleEndian.Uint32(b)
	resetID := binary.LittleEndian.Uint32(b[4:])
	hdrSize := int(binary.LittleEndian.Uint32(b[8:]))
	recSize := int(binary.LittleEndian.Uint16(b[12:]))
	recAlign := int(binary.LittleEndian.Uint16(b[14:]))
	n := int(binary.LittleEndian.Uint16(b[18:]))
	if 20+n > len(b) || hdrSize > maxExtHeader {
		return
	}
	name := string(b[20 : 20+n])
	var e *extension
	if id != 0xffffffff && int(id) < len(s.exts) {
		e = s.exts[id]
	} else if n > 0 {
		e = s.ext(name)
		if e == nil {
			if len(s.exts) >= maxExtensions {
				return
			}
			e = &extension{name: name, recSize: recSize, recAlign: recAlign, resetID: resetID}
			s.exts = append(s.exts, e)
		}
	}
	if e == nil {
		return
	}
	if recSize != e.recSize || (recAlign != e.recAlign && recSize > 0) {
		// Resized: the records' old part no longer fits.
		e.recSize, e.recAlign, e.inIndex = recSize, recAlign, false
	}
	if len(e.hdr) < hdrSize {
		e.hdr = append(e.hdr, make([]byte, hdrSize-len(e.hdr))...)
	}
	s.cur, s.curRec = e, recSize
}

// noteExpungeRequest records the UIDs of an expunge request.
func (s *state) noteExpungeRequest(typ uint32, b []byte) {
	step := 8
	if typ == recExpungeGUID {
		step = 20
	}
	for p := 0; p+step <= len(b) && len(*s.expReq) < 1<<16; p += step {
		u1 := binary.LittleEndian.Uint32(b[p:])
		u2 := u1
		if typ == recExpunge {
			u2 = binary.LittleEndian.Uint32(b[p+4:])
		}
		*s.expReq = append(*s.expReq, [2]uint32{u1, u2})
	}
}

// expungePending reports whether a collected expunge request names a
// message still present.
func (s *state) expungePending() bool {
	if s.expReq == nil {
		return false
	}
	for _, r := range *s.expReq {
		if i := s.find(r[0]); i < len(s.msgs) && s.msgs[i].uid <= r[1] {
			return true
		}
	}
	return false
}

// loadKeywordNames reads the keyword names of a "keywords" extension
// header: u32 count, count {u32, u32 name offset}, NUL-ended names. The
// names keep their numbers; names met in the log first keep theirs.
func (s *state) loadKeywordNames(h []byte) {
	if len(h) < 4 {
		return
	}
	cnt := int(binary.LittleEndian.Uint32(h))
	if cnt > maxKeywords || 4+cnt*8 > len(h) {
		return
	}
	base := 4 + cnt*8
	for i := 0; i < cnt; i++ {
		off := base + int(binary.LittleEndian.Uint32(h[4+i*8+4:]))
		if off >= len(h) {
			return
		}
		end := off
		for end < len(h) && h[end] != 0 {
			end++
		}
		name := string(h[off:end])
		if i < len(s.kwNames) {
			continue
		}
		s.kwNames = append(s.kwNames, name)
	}
}

// modseqStep returns how much a record raises the modseq counter
// (for scanning a log without applying it).
func modseqStep(r logRecord) uint64 {
	typ := r.Type & recTypeMask
	if typ&recExpungeProt == recExpungeProt {
		if r.Type&recExternal != 0 {
			return 1
		}
		return 0
	}
	switch typ {
	case recAppend, recKeywordUpdate, recKeywordReset, recAttribute:
		return 1
	case recFlagUpdate:
		for p := 0; p+12 <= len(r.Body); p += 12 {
			if (r.Body[p+8]|r.Body[p+9])&flagsMask != 0 || r.Body[p+10] != 0 {
				return 1
			}
		}
	}
	return 0
}
