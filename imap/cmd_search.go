package imap

import (
	"errors"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// searchReturn are ESEARCH's RETURN options (RFC 4731, RFC 5182).
type searchReturn struct {
	min, max, all, count, save bool
	extended                   bool // answer with ESEARCH
	partial                    *partialRange
	// update asks for the result to be kept up to date (RFC 5267 4.4,
	// CONTEXT=SEARCH); CONTEXT is accepted and means nothing more here.
	update bool
}

// parseSearchReturn reads what follows RETURN in SEARCH and SORT:
// SP "(" [option *(SP option)] ")" SP. No option means ALL
// (RFC 4731 3.1).
func (c *conn) parseSearchReturn() (*searchReturn, error) {
	ret := &searchReturn{extended: true}
	err := c.r.sp()
	if err == nil {
		err = c.r.list(func() error {
			a, err := c.r.atom()
			switch strings.ToUpper(a) {
			case "MIN":
				ret.min = true
			case "MAX":
				ret.max = true
			case "ALL":
				ret.all = true
			case "COUNT":
				ret.count = true
			case "SAVE":
				ret.save = true
			case "UPDATE":
				ret.update = true
			case "CONTEXT":
			case "PARTIAL":
				if ret.partial != nil {
					return badf("PARTIAL given twice.")
				}
				if err == nil {
					err = c.r.sp()
				}
				var s string
				if err == nil {
					s, err = c.r.atom()
				}
				if err == nil {
					var p partialRange
					p, err = parsePartialRange(s)
					ret.partial = &p
				}
			default:
				if err == nil {
					err = badf("Unknown RETURN option.")
				}
			}
			return err
		})
	}
	if err == nil {
		err = c.r.sp()
	}
	if err != nil {
		return nil, err
	}
	if ret.partial != nil && ret.all {
		// RFC 9394 3.1: ALL and PARTIAL are mutually exclusive.
		return nil, badf("ALL and PARTIAL can't be used together.")
	}
	// UPDATE alone returns no result now, only the updates (as
	// Dovecot answers it).
	if !ret.min && !ret.max && !ret.count && !ret.save && ret.partial == nil && !ret.update {
		ret.all = true
	}
	return ret, nil
}

// SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH (RFC 4731),
// SEARCHRES (RFC 5182), CONDSTORE's MODSEQ (RFC 7162) and SAVEDATE
// (RFC 8514). No EXPUNGE is sent while it runs.
func (c *conn) cmdSearch(tag string, uid bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	var ret searchReturn
	charset := ""
	// RETURN and CHARSET come first; a first atom that is neither is
	// the first search key.
	first := ""
	for first == "" {
		b, err := c.r.peek()
		if err != nil {
			return err
		}
		if b == '(' || b == '*' || b == '$' || (b >= '0' && b <= '9') {
			break
		}
		a, err := c.r.atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "RETURN":
			if ret.extended {
				return badf("RETURN given twice.")
			}
			r, err := c.parseSearchReturn()
			if err != nil {
				return err
			}
			ret = *r
		case "CHARSET":
			err := c.r.sp()
			var cs string
			if err == nil {
				cs, err = c.r.astring()
			}
			if err == nil {
				err = c.r.sp()
			}
			if err != nil {
				return err
			}
			charset = cs
		default:
			first = a
		}
	}
	key, err := c.searchKeys(first)
	if err != nil {
		return err
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if err := decodeSearchStrings(key, charset); err != nil {
		return err
	}
	if c.rev2 && !ret.extended {
		ret.extended, ret.all = true, true
	}
	if err := c.resolveSearchSets(key); err != nil {
		return err
	}
	var hits store.UIDSet = store.UIDSet{}
	var hitSeqs store.UIDSet = store.UIDSet{}
	var list []uint32 // in order, for the classic SEARCH response
	var maxModSeq, firstModSeq, lastModSeq uint64
	var n uint32
	err = c.runSearch(key, func(m *store.MessageInfo, seq uint32) error {
		n++
		hits.Add(m.UID)
		hitSeqs.Add(seq)
		if m.ModSeq > maxModSeq {
			maxModSeq = m.ModSeq
		}
		if n == 1 {
			firstModSeq = m.ModSeq
		}
		lastModSeq = m.ModSeq
		if !ret.extended {
			if uid {
				list = append(list, m.UID)
			} else {
				list = append(list, seq)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ret.save {
		c.sel.saved = hits
		if ret.min || ret.max {
			// RFC 5182 2.4: with MIN/MAX only those are saved.
			saved := store.UIDSet{}
			if len(hits) > 0 {
				if ret.min {
					saved.Add(hits[0].Start)
				}
				if ret.max {
					saved.Add(hits[len(hits)-1].Stop)
				}
			}
			c.sel.saved = saved
		}
	}
	withModSeq := key.usesModSeq() && n > 0
	if !ret.extended {
		c.w.str("* SEARCH")
		for _, v := range list {
			c.w.byte(' ')
			c.w.num(v)
		}
		if withModSeq {
			c.w.str(" (MODSEQ " + itoa64(maxModSeq) + ")")
		}
		c.w.crlf()
		return c.w.err
	}
	if ret.update {
		c.addSearchContext(key, uid, hits)
	}
	if ret.save && !ret.min && !ret.max && !ret.all && !ret.count && ret.partial == nil && !ret.update {
		return nil
	}
	set := hitSeqs
	if uid {
		set = hits
	}
	c.w.str(`* ESEARCH (TAG "` + c.curTag + `")`)
	if uid {
		c.w.str(" UID")
	}
	if n > 0 {
		if ret.min {
			c.w.str(" MIN ")
			c.w.num(set[0].Start)
		}
		if ret.max {
			c.w.str(" MAX ")
			c.w.num(set[len(set)-1].Stop)
		}
		if ret.all {
			c.w.str(" ALL " + set.String())
		}
	}
	if ret.partial != nil {
		c.writePartial(*ret.partial, setNumbers(set))
	}
	if ret.count {
		c.w.str(" COUNT ")
		c.w.num(n)
	}
	if withModSeq {
		if !ret.all && !ret.count {
			// RFC 7162 3.1.5: with only MIN and/or MAX, the MODSEQ
			// is that of the message(s) returned.
			maxModSeq = 0
			if ret.min {
				maxModSeq = firstModSeq
			}
			if ret.max {
				maxModSeq = max(maxModSeq, lastModSeq)
			}
		}
		c.w.str(" MODSEQ " + itoa64(maxModSeq))
	}
	c.w.crlf()
	return c.w.err
}

// resolveSearchSets turns the sequence sets of SEQ and UID keys into UID
// sets (stored back in the key's set as one resolved range list).
func (c *conn) resolveSearchSets(k *searchKey) error {
	switch k.op {
	case "SEQ", "UID":
		var set store.UIDSet
		var err error
		if k.op == "SEQ" && !k.set.Saved {
			set, err = c.sel.view.seqToUIDSetMode(k.set, true)
		} else {
			set, err = c.resolveSet(k.set, k.op == "UID")
		}
		if err != nil {
			return err
		}
		k.op = "UIDSET"
		k.uids = set
	}
	for _, ch := range k.children {
		if err := c.resolveSearchSets(ch); err != nil {
			return err
		}
	}
	return nil
}

// runSearch calls hit, in UID order, for each message of the view that
// matches key (whose sets resolveSearchSets has resolved).
func (c *conn) runSearch(key *searchKey, hit func(m *store.MessageInfo, seq uint32) error) error {
	s := &searcher{c: c, key: key, now: time.Now()}
	defer s.close()
	// Messages come in UID order, as the view holds them: a cursor
	// finds each one's sequence number.
	uids := c.sel.view.uids
	j := 0
	return c.sel.mb.Messages(c.ctx(), nil, func(m *store.MessageInfo) error {
		for j < len(uids) && uids[j] < m.UID {
			j++
		}
		if j == len(uids) || uids[j] != m.UID {
			return nil
		}
		seq := uint32(j + 1)
		ok, err := s.match(key, m, seq)
		if err != nil || !ok {
			return err
		}
		return hit(m, seq)
	})
}

// searcher evaluates a search key against messages, opening and parsing
// content only for keys that need it.
type searcher struct {
	c   *conn
	key *searchKey
	now time.Time
	msg *message // content of the message being matched, if opened
	uid uint32
}

func (s *searcher) close() {
	if s.msg != nil {
		s.msg.close()
		s.msg = nil
	}
}

func (s *searcher) content(m *store.MessageInfo) (*message, error) {
	if s.msg != nil && s.uid == m.UID {
		return s.msg, nil
	}
	s.close()
	msg, err := s.c.openMessage(m)
	if err != nil {
		return nil, err
	}
	s.msg, s.uid = msg, m.UID
	return msg, nil
}

func sameDay(t time.Time, d time.Time) int {
	ty, tm, td := t.Date()
	dy, dm, dd := d.Date()
	a := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	b := time.Date(dy, dm, dd, 0, 0, 0, 0, time.UTC)
	return a.Compare(b)
}

func (s *searcher) match(k *searchKey, m *store.MessageInfo, seq uint32) (bool, error) {
	switch k.op {
	case "AND":
		for _, ch := range k.children {
			ok, err := s.match(ch, m, seq)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "OR":
		for _, ch := range k.children {
			ok, err := s.match(ch, m, seq)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "NOT":
		ok, err := s.match(k.children[0], m, seq)
		return !ok, err
	case "ALL", "SAVEDATESUPPORTED":
		return true, nil
	case "FLAG":
		return m.Flags.System&k.flag != 0, nil
	case "NEW":
		return m.Recent && m.Flags.System&store.Seen == 0, nil
	case "OLD":
		return !m.Recent, nil
	case "RECENT":
		return m.Recent, nil
	case "KEYWORD":
		return m.Flags.Has(k.str), nil
	case "UNKEYWORD":
		return !m.Flags.Has(k.str), nil
	case "UIDSET":
		return k.uids.Contains(m.UID), nil
	case "LARGER":
		return uint64(m.Size) > k.num, nil
	case "SMALLER":
		return uint64(m.Size) < k.num, nil
	case "BEFORE":
		return sameDay(m.InternalDate, k.date) < 0, nil
	case "ON":
		return sameDay(m.InternalDate, k.date) == 0, nil
	case "SINCE":
		return sameDay(m.InternalDate, k.date) >= 0, nil
	case "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		d := m.SaveDate
		if d.IsZero() {
			d = m.InternalDate
		}
		cmp := sameDay(d, k.date)
		return (k.op == "SAVEDBEFORE" && cmp < 0) || (k.op == "SAVEDON" && cmp == 0) || (k.op == "SAVEDSINCE" && cmp >= 0), nil
	case "OLDER":
		return s.now.Sub(m.InternalDate) >= time.Duration(k.num)*time.Second, nil
	case "YOUNGER":
		return s.now.Sub(m.InternalDate) <= time.Duration(k.num)*time.Second, nil
	case "MODSEQ":
		return m.ModSeq >= k.num, nil
	case "EMAILID":
		return emailID(m) == k.str, nil
	case "THREADID":
		return false, nil
	}
	msg, err := s.content(m)
	if errors.Is(err, store.ErrNoSuchMessage) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return msg.matchContent(k)
}
