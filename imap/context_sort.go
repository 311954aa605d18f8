package imap

import (
	"strconv"
	"strings"
)

// CONTEXT=SORT (RFC 5267 4): a SORT with RETURN (UPDATE) is kept up to
// date like a search context (searchctx.go), but its changes carry
// positions in the sorted result:
//
//	* ESEARCH (TAG "t") [UID] REMOVEFROM (pos n ...) ADDTO (pos n,m ...)
//
// The client applies the pairs in order (RFC 5267 4.3.2). Removals come
// first, each with the message's 1-based position in the list as it is
// after the removals before it; then additions, each run of consecutive
// new messages with the position of its first in the new result (the
// numbers listed in sort order). Messages never change their sort keys,
// so the kept messages' order stays and these steps turn the old result
// into the new one. Dovecot 2.3 has no CONTEXT=SORT; this follows the
// RFC.

// maxSortContexts bounds the sorted contexts of one selection (each is
// re-sorted at every change); they count against maxSearchContexts too.
const maxSortContexts = 5

// sortContextOf holds what a sorted context adds to a search context.
type sortContextOf struct {
	crit    []sortCriterion
	critKey string
	order   []uint32 // UIDs in sort order, as last told
}

// addSortContext keeps the SORT just answered (items in sort order).
func (c *conn) addSortContext(key *searchKey, uid bool, crit []sortCriterion, critKey string, items []sortItem) {
	n := 0
	for _, x := range c.sel.contexts {
		if x.sort != nil && x.tag != c.curTag {
			n++
		}
	}
	if n >= maxSortContexts {
		c.w.str(`* NO [NOUPDATE "` + c.curTag + `"] Too many sort contexts.` + "\r\n")
		return
	}
	sc := &sortContextOf{crit: crit, critKey: critKey, order: make([]uint32, len(items))}
	for i := range items {
		sc.order[i] = items[i].uid
	}
	c.addSearchContext(key, uid, nil)
	if last := c.sel.contexts; len(last) > 0 && last[len(last)-1].tag == c.curTag {
		last[len(last)-1].sort = sc
	}
}

// sortedNow returns the UIDs matching sc's search, in sort order.
func (c *conn) sortedNow(ctx *searchContext) ([]uint32, error) {
	sc := ctx.sort
	if ctx.key.matchesAll() {
		o, err := c.sortAll(ctx.key, sc.crit, sc.critKey)
		if err != nil {
			return nil, err
		}
		out := make([]uint32, len(o.order))
		for i, p := range o.order {
			out[i] = o.base[p]
		}
		return out, nil
	}
	items, err := c.sortItems(ctx.key, needsKeys(sc.crit))
	if err != nil {
		return nil, err
	}
	sortMessages(items, sc.crit)
	out := make([]uint32, len(items))
	for i := range items {
		out[i] = items[i].uid
	}
	return out, nil
}

// updateSortContext sorts again and writes how the result changed.
func (c *conn) updateSortContext(ctx *searchContext) {
	now, err := c.sortedNow(ctx)
	if err != nil {
		c.log.Warn("imap: sort context update failed", "err", err)
		return
	}
	c.writeSortContextChange(ctx, now)
}

// dropFromSortContext removes the messages about to be expunged from
// a sorted context (before the EXPUNGE responses).
func (c *conn) dropFromSortContext(ctx *searchContext, uids []uint32) {
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	now := make([]uint32, 0, len(ctx.sort.order))
	for _, u := range ctx.sort.order {
		if !gone[u] {
			now = append(now, u)
		}
	}
	c.writeSortContextChange(ctx, now)
}

// writeSortContextChange writes the REMOVEFROM and ADDTO that turn the
// context's last result into now, and keeps now.
func (c *conn) writeSortContextChange(ctx *searchContext, now []uint32) {
	sc := ctx.sort
	inNow := make(map[uint32]bool, len(now))
	for _, u := range now {
		inNow[u] = true
	}
	inOld := make(map[uint32]bool, len(sc.order))
	for _, u := range sc.order {
		inOld[u] = true
	}
	num := func(u uint32) uint32 {
		if ctx.uid {
			return u
		}
		return c.sel.view.seqOf(u)
	}
	var removes, adds []string
	pos := 1
	for _, u := range sc.order {
		if inNow[u] {
			pos++
			continue
		}
		if n := num(u); n != 0 {
			removes = append(removes, strconv.Itoa(pos)+" "+strconv.FormatUint(uint64(n), 10))
		} else {
			// Not in the view any more (told expunged): nothing to
			// name; the client already dropped it.
			continue
		}
	}
	for i := 0; i < len(now); {
		if inOld[now[i]] {
			i++
			continue
		}
		start := i
		var nums []uint32
		for ; i < len(now) && !inOld[now[i]]; i++ {
			if n := num(now[i]); n != 0 {
				nums = append(nums, n)
			}
		}
		if len(nums) > 0 {
			adds = append(adds, strconv.Itoa(start+1)+" "+uidList(nums))
		}
	}
	sc.order = now
	ctx.hits = nil
	if len(removes) == 0 && len(adds) == 0 {
		return
	}
	c.w.str(`* ESEARCH (TAG "` + ctx.tag + `")`)
	if ctx.uid {
		c.w.str(" UID")
	}
	if len(removes) > 0 {
		c.w.str(" REMOVEFROM (" + strings.Join(removes, " ") + ")")
	}
	if len(adds) > 0 {
		c.w.str(" ADDTO (" + strings.Join(adds, " ") + ")")
	}
	c.w.crlf()
}
