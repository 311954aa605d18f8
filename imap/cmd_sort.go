package imap

import (
	"cmp"
	"slices"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// sortKey is one SORT criterion (RFC 5256 3, RFC 5957).
type sortCriterion struct {
	key     string // ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM, DISPLAYTO
	reverse bool
}

// maxSortCriteria bounds the criteria of one SORT.
const maxSortCriteria = 20

var sortKeyNames = map[string]bool{
	"ARRIVAL": true, "CC": true, "DATE": true, "FROM": true, "SIZE": true, "SUBJECT": true, "TO": true,
	"DISPLAYFROM": true, "DISPLAYTO": true,
}

// parseSortCriteria reads "(" sort-criterion *(SP sort-criterion) ")".
func (c *conn) parseSortCriteria() ([]sortCriterion, error) {
	var crit []sortCriterion
	reverse := false
	err := c.r.list(func() error {
		for {
			a, err := c.r.atom()
			if err != nil {
				return err
			}
			a = strings.ToUpper(a)
			switch {
			case a == "REVERSE" && !reverse:
				reverse = true
			case sortKeyNames[a]:
				crit = append(crit, sortCriterion{key: a, reverse: reverse})
				reverse = false
				if len(crit) > maxSortCriteria {
					return badf("Too many sort criteria.")
				}
			default:
				return badf("Unknown sort argument: " + a)
			}
			b, err := c.r.peek()
			if err != nil {
				return err
			}
			if b != ' ' {
				return nil
			}
			c.r.readByte()
		}
	})
	if err != nil {
		return nil, err
	}
	if reverse {
		return nil, badf("REVERSE without a sort key.")
	}
	if len(crit) == 0 {
		return nil, badf("Empty sort program.")
	}
	return crit, nil
}

// searchCharset reads SORT's and THREAD's charset (astring) and the
// space after it.
func (c *conn) searchCharset() (string, error) {
	cs, err := c.r.astring()
	if err == nil {
		err = c.r.sp()
	}
	return cs, err
}

// SORT and UID SORT (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO), with
// ESORT's RETURN (RFC 5267) and PARTIAL (RFC 9394).
func (c *conn) cmdSort(tag string, uid bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	var ret *searchReturn
	if b, err := c.r.peek(); err != nil {
		return err
	} else if b != '(' {
		a, err := c.r.atom()
		if err != nil {
			return err
		}
		if !strings.EqualFold(a, "RETURN") {
			return badf("Expected sort criteria.")
		}
		if ret, err = c.parseSearchReturn(); err != nil {
			return err
		}
	}
	crit, err := c.parseSortCriteria()
	if err != nil {
		return err
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	cs, err := c.searchCharset()
	if err != nil {
		return err
	}
	key, err := c.searchKeys("")
	if err != nil {
		return err
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if err := decodeSearchStrings(key, cs); err != nil {
		return err
	}
	if err := c.resolveSearchSets(key); err != nil {
		return err
	}
	critKey := ""
	for _, cr := range crit {
		if cr.reverse {
			critKey += "-"
		}
		critKey += cr.key + " "
	}
	var items []sortItem
	if key.matchesAll() {
		o, err := c.sortAll(key, crit, critKey)
		if err != nil {
			return err
		}
		if ret == nil {
			c.writeSortOrder(o, uid)
			return c.w.err
		}
		items = c.orderItems(o)
	} else {
		if items, err = c.sortItems(key, needsKeys(crit)); err != nil {
			return err
		}
		sortMessages(items, crit)
	}
	if ret != nil {
		if err := c.writeESearch(ret, uid, items, key.usesModSeq()); err != nil || !ret.update {
			return err
		}
		c.addSortContext(key, uid, crit, critKey, items)
		return c.w.err
	}
	c.w.str("* SORT")
	for i := range items {
		c.w.byte(' ')
		if uid {
			c.w.num(items[i].uid)
		} else {
			c.w.num(items[i].seq)
		}
	}
	if key.usesModSeq() && len(items) > 0 {
		var m uint64
		for i := range items {
			m = max(m, items[i].modseq)
		}
		c.w.str(" (MODSEQ " + itoa64(m) + ")")
	}
	c.w.crlf()
	return c.w.err
}

// sortMessages orders items by the criteria; ties go by sequence number
// (RFC 5256 3), which REVERSE does not turn. The first criterion's
// value is taken out of each item once, so most comparisons touch only
// a small array.
func sortMessages(items []sortItem, crit []sortCriterion) {
	type ent struct {
		n   int64
		s   string
		seq uint32
		idx int32
	}
	first := crit[0]
	numeric := first.key == "ARRIVAL" || first.key == "SIZE" || first.key == "DATE"
	ents := make([]ent, len(items))
	for i := range items {
		it := &items[i]
		e := ent{seq: it.seq, idx: int32(i)}
		switch first.key {
		case "ARRIVAL":
			e.n = it.arrival
		case "SIZE":
			e.n = it.size
		case "DATE":
			e.n = it.sentDate()
		default:
			e.s = sortString(it, first.key)
		}
		ents[i] = e
	}
	rest := crit[1:]
	slices.SortFunc(ents, func(a, b ent) int {
		var r int
		if numeric {
			r = cmp.Compare(a.n, b.n)
		} else {
			r = strings.Compare(a.s, b.s)
		}
		if first.reverse {
			r = -r
		}
		if r != 0 {
			return r
		}
		for _, cr := range rest {
			r := compareBy(&items[a.idx], &items[b.idx], cr.key)
			if cr.reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(a.seq, b.seq)
	})
	sorted := make([]sortItem, len(items))
	for i, e := range ents {
		sorted[i] = items[e.idx]
	}
	copy(items, sorted)
}

// sortString is the string value of a string sort key.
func sortString(it *sortItem, key string) string {
	switch key {
	case "SUBJECT":
		return it.keys.Subject
	case "FROM":
		return it.keys.From
	case "TO":
		return it.keys.To
	case "CC":
		return it.keys.Cc
	case "DISPLAYFROM":
		return it.keys.DisplayFrom
	case "DISPLAYTO":
		return it.keys.DisplayTo
	}
	return ""
}

func compareBy(a, b *sortItem, key string) int {
	switch key {
	case "ARRIVAL":
		return cmp.Compare(a.arrival, b.arrival)
	case "SIZE":
		return cmp.Compare(a.size, b.size)
	case "DATE":
		return cmp.Compare(a.sentDate(), b.sentDate())
	}
	return strings.Compare(sortString(a, key), sortString(b, key))
}

// writeESearch answers a SORT with RETURN (RFC 5267 3.2): an ESEARCH
// response whose MIN and MAX are the first and last message in sort
// order and whose ALL lists the messages in sort order. SAVE keeps the
// result for "$" (RFC 5182).
func (c *conn) writeESearch(ret *searchReturn, uid bool, items []sortItem, modseq bool) error {
	if ret.save {
		saved := store.UIDSet{}
		for i := range items {
			if (!ret.min && !ret.max) || (ret.min && i == 0) || (ret.max && i == len(items)-1) {
				saved.Add(items[i].uid)
			}
		}
		c.sel.saved = saved
		if !ret.min && !ret.max && !ret.all && !ret.count && ret.partial == nil {
			return nil
		}
	}
	num := func(it *sortItem) uint32 {
		if uid {
			return it.uid
		}
		return it.seq
	}
	c.w.str(`* ESEARCH (TAG "` + c.curTag + `")`)
	if uid {
		c.w.str(" UID")
	}
	if len(items) > 0 {
		if ret.min {
			c.w.str(" MIN ")
			c.w.num(num(&items[0]))
		}
		if ret.max {
			c.w.str(" MAX ")
			c.w.num(num(&items[len(items)-1]))
		}
		if ret.all {
			nums := make([]uint32, len(items))
			for i := range items {
				nums[i] = num(&items[i])
			}
			c.w.str(" ALL " + seqList(nums))
		}
	}
	if ret.partial != nil {
		nums := make([]uint32, len(items))
		for i := range items {
			nums[i] = num(&items[i])
		}
		c.writePartial(*ret.partial, nums)
	}
	if ret.count {
		c.w.str(" COUNT ")
		c.w.num(uint32(len(items)))
	}
	if modseq && len(items) > 0 {
		var m uint64
		for i := range items {
			if (!ret.all && !ret.count) && !(ret.min && i == 0) && !(ret.max && i == len(items)-1) {
				continue
			}
			m = max(m, items[i].modseq)
		}
		c.w.str(" MODSEQ " + itoa64(m))
	}
	c.w.crlf()
	return c.w.err
}
