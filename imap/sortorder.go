package imap

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/yubinmail/yubin/store"
)

// A SORT or THREAD over every message of the mailbox (search key ALL,
// what webmail sends on every view of a folder) is answered from a
// result kept per mailbox and sort program, shared by the sessions: a
// message's sort keys never change under one UIDVALIDITY, so the order
// of the same UIDs stays right. When messages came or went since, the
// kept order is updated instead of sorted again: removed positions are
// dropped and new messages inserted by binary search, as Dovecot's
// index keeps its sort data up to date.

// maxSortOrders bounds the SORT results kept per mailbox.
const maxSortOrders = 8

// maxSortInsert bounds the new messages an update of a kept order
// inserts one by one; more are sorted again whole.
const maxSortInsert = 4096

// msgMeta is what SORT needs of a message besides its header keys.
type msgMeta struct{ arrival, size int64 }

// sortOrder is a SORT result over every message of base.
type sortOrder struct {
	base  []uint32 // the UIDs sorted, ascending (the view when sorted)
	order []int32  // positions in base, in sort order
}

// matchesAll reports whether k matches every message: ALL, or an AND
// of such keys.
func (k *searchKey) matchesAll() bool {
	switch k.op {
	case "ALL":
		return true
	case "AND":
		for _, ch := range k.children {
			if !ch.matchesAll() {
				return false
			}
		}
		return true
	}
	return false
}

// sortAll returns the SORT order of every message in the view, kept,
// updated or computed.
func (c *conn) sortAll(key *searchKey, crit []sortCriterion, critKey string) (*sortOrder, error) {
	uids := c.sel.view.uids
	_, box := c.selectedSortBox()
	box.mu.Lock()
	o := box.orders[critKey]
	box.mu.Unlock()
	if o != nil && slices.Equal(o.base, uids) {
		return o, nil
	}
	if o != nil {
		n, err := c.updateSortOrder(box, o, crit)
		if err != nil {
			return nil, err
		}
		if n != nil {
			c.keepOrder(box, critKey, n)
			return n, nil
		}
	}
	items, err := c.sortItems(key, needsKeys(crit))
	if err != nil {
		return nil, err
	}
	base := make([]uint32, len(items))
	box.mu.Lock()
	if box.meta == nil {
		box.meta = make(map[uint32]msgMeta, len(items))
	}
	for i := range items {
		base[i] = items[i].uid
		box.meta[items[i].uid] = msgMeta{items[i].arrival, items[i].size}
	}
	box.mu.Unlock()
	sortMessages(items, crit)
	o = &sortOrder{base: base, order: make([]int32, len(items))}
	for i := range items {
		o.order[i] = items[i].pos
	}
	c.keepOrder(box, critKey, o)
	return o, nil
}

// keepOrder keeps o as the mailbox's result for critKey, counting the
// messages it holds against the sort cache's limit.
func (c *conn) keepOrder(box *sortBox, critKey string, o *sortOrder) {
	box.mu.Lock()
	held := 0
	if box.orders == nil || len(box.orders) >= maxSortOrders && box.orders[critKey] == nil {
		for _, old := range box.orders {
			held -= len(old.order)
		}
		box.orders = map[string]*sortOrder{}
	}
	if old := box.orders[critKey]; old != nil {
		held -= len(old.order)
	}
	box.orders[critKey] = o
	box.mu.Unlock()
	c.srv.sortCache().heldResults(box, held+len(o.order))
}

// updateSortOrder turns o into the order of the view's messages by
// dropping those gone and inserting new ones; nil when too many are new
// or a message's keys are not at hand (the caller sorts again).
func (c *conn) updateSortOrder(box *sortBox, o *sortOrder, crit []sortCriterion) (*sortOrder, error) {
	uids := c.sel.view.uids
	remap := make([]int32, len(o.base))
	var added []int32
	i, j := 0, 0
	for i < len(o.base) || j < len(uids) {
		switch {
		case j == len(uids) || i < len(o.base) && o.base[i] < uids[j]:
			remap[i] = -1
			i++
		case i == len(o.base) || uids[j] < o.base[i]:
			added = append(added, int32(j))
			if len(added) > maxSortInsert {
				return nil, nil
			}
			j++
		default:
			remap[i] = int32(j)
			i++
			j++
		}
	}
	// The new messages' data, read from the store.
	newItems := make([]sortItem, 0, len(added))
	if len(added) > 0 {
		set := store.UIDSet{}
		for _, p := range added {
			set.Add(uids[p])
		}
		k := 0
		err := c.sel.mb.Messages(c.ctx(), set, func(m *store.MessageInfo) error {
			for k < len(added) && uids[added[k]] < m.UID {
				k++
			}
			if k < len(added) && uids[added[k]] == m.UID {
				newItems = append(newItems, sortItem{uid: m.UID, seq: uint32(added[k] + 1), pos: added[k], size: m.Size, arrival: m.InternalDate.Unix(), modseq: m.ModSeq})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(newItems) != len(added) {
			return nil, nil // a message vanished: sort what the store has
		}
		if needsKeys(crit) {
			if err := c.attachSortKeys(newItems); err != nil {
				return nil, err
			}
		}
	}
	n := &sortOrder{base: slices.Clone(uids), order: make([]int32, 0, len(uids))}
	for _, p := range o.order {
		if q := remap[p]; q >= 0 {
			n.order = append(n.order, q)
		}
	}
	needKeys := needsKeys(crit)
	box.mu.Lock()
	defer box.mu.Unlock()
	if box.meta == nil || box.keys == nil {
		return nil, nil // evicted meanwhile
	}
	for i := range newItems {
		box.meta[newItems[i].uid] = msgMeta{newItems[i].arrival, newItems[i].size}
	}
	at := func(p int32) (sortItem, bool) {
		uid := uids[p]
		m, ok := box.meta[uid]
		if !ok {
			return sortItem{}, false
		}
		it := sortItem{uid: uid, seq: uint32(p + 1), arrival: m.arrival, size: m.size, pos: p}
		if needKeys {
			k := box.keys[uid]
			if k == nil {
				return sortItem{}, false
			}
			it.setKeys(k)
		}
		return it, true
	}
	for i := range newItems {
		it := &newItems[i]
		ok := true
		idx, _ := slices.BinarySearchFunc(n.order, it, func(p int32, it *sortItem) int {
			x, found := at(p)
			if !found {
				ok = false
				return 0
			}
			return compareItems(&x, it, crit)
		})
		if !ok {
			return nil, nil
		}
		n.order = slices.Insert(n.order, idx, it.pos)
	}
	return n, nil
}

// needsKeys reports whether the criteria compare header keys (all but
// ARRIVAL and SIZE do).
func needsKeys(crit []sortCriterion) bool {
	for _, cr := range crit {
		if cr.key != "ARRIVAL" && cr.key != "SIZE" {
			return true
		}
	}
	return false
}

// compareItems orders two messages by the criteria, then by sequence
// number (RFC 5256 3), as sortMessages does.
func compareItems(a, b *sortItem, crit []sortCriterion) int {
	for _, cr := range crit {
		r := compareBy(a, b, cr.key)
		if cr.reverse {
			r = -r
		}
		if r != 0 {
			return r
		}
	}
	return cmp.Compare(a.seq, b.seq)
}

// seqOfPos returns a function giving the sequence number of the
// message at position p of base: p+1 when base is the view, else
// looked up (0: not in the view).
func (c *conn) seqOfPos(base []uint32) func(p int32) uint32 {
	if slices.Equal(base, c.sel.view.uids) {
		return func(p int32) uint32 { return uint32(p + 1) }
	}
	return func(p int32) uint32 { return c.sel.view.seqOf(base[p]) }
}

// writeSortOrder writes "* SORT n..." for o.
func (c *conn) writeSortOrder(o *sortOrder, uid bool) {
	seq := c.seqOfPos(o.base)
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, "* SORT"...)
	for _, p := range o.order {
		n := o.base[p]
		if !uid {
			if n = seq(p); n == 0 {
				continue
			}
		}
		buf = append(buf, ' ')
		buf = strconv.AppendUint(buf, uint64(n), 10)
		if len(buf) > 60<<10 {
			c.w.Write(buf)
			buf = buf[:0]
		}
	}
	buf = append(buf, "\r\n"...)
	c.w.Write(buf)
}

// orderItems returns o's messages as sort items in sort order (uid and
// seq only), for ESORT's answers.
func (c *conn) orderItems(o *sortOrder) []sortItem {
	seq := c.seqOfPos(o.base)
	items := make([]sortItem, 0, len(o.order))
	for _, p := range o.order {
		if s := seq(p); s != 0 {
			items = append(items, sortItem{uid: o.base[p], seq: s, pos: p})
		}
	}
	return items
}
