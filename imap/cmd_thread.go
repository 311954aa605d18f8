package imap

import (
	"slices"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/store"
)

// THREAD and UID THREAD (RFC 5256): ORDEREDSUBJECT and REFERENCES.
func (c *conn) cmdThread(tag string, uid bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	alg, err := c.r.atom()
	if err != nil {
		return err
	}
	alg = strings.ToUpper(alg)
	if alg != "ORDEREDSUBJECT" && alg != "REFERENCES" && alg != "REFS" {
		return badf("Unknown thread algorithm.")
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
	if key.matchesAll() {
		return c.threadAll(key, alg, uid)
	}
	items, err := c.sortItems(key, true)
	if err != nil {
		return err
	}
	c.writeThreadResponse(threadBy(alg, items), uid)
	return c.w.err
}

// threadBy threads items (in UID order, with keys) by alg.
func threadBy(alg string, items []sortItem) []*threadNode {
	switch alg {
	case "REFERENCES":
		return threadReferences(items)
	case "REFS":
		return threadRefs(items)
	}
	return threadOrderedSubject(items)
}

// threadAll answers a THREAD over every message of the view from the
// mailbox's kept result for alg, updated for the messages that came or
// went since, or threaded again.
func (c *conn) threadAll(key *searchKey, alg string, uid bool) error {
	uids := c.sel.view.uids
	sc, box := c.selectedSortBox()
	box.mu.Lock()
	if box.threads == nil {
		box.threads = map[string]*threadState{}
	}
	t := box.threads[alg]
	if t == nil {
		t = &threadState{alg: alg}
		box.threads[alg] = t
	}
	box.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Equal(t.base, uids) {
		held := len(t.base)
		fresh, err := c.updateThreads(t, key)
		if err != nil {
			return err
		}
		sc.heldResults(box, len(t.base)-held)
		if fresh != nil {
			// A message of the view is gone from the store: answer
			// without keeping the answer.
			c.writeThreadResponse(fresh, uid)
			return c.w.err
		}
	}
	form, num := 0, func(it *sortItem) uint32 {
		i, _ := slices.BinarySearch(uids, it.uid)
		return uint32(i + 1)
	}
	if uid {
		form, num = 1, itemUID
	}
	if t.replies[form] == nil {
		t.replies[form] = t.order().reply(form, num)
	}
	c.w.Write(t.replies[form])
	return c.w.err
}

// updateThreads brings t to the view's messages: expunged ones unlinked
// and new ones linked when that is exact, else threaded again. When the
// store no longer has a message of the view, it returns the threads of
// what it has (not kept).
func (c *conn) updateThreads(t *threadState, key *searchKey) ([]*threadNode, error) {
	uids := c.sel.view.uids
	t.replies = [2][]byte{}
	if t.base != nil {
		removed, added := diffUIDs(t.base, uids)
		last := uint32(0)
		for i := len(t.base) - 1; i >= 0; i-- {
			if _, gone := slices.BinarySearch(removed, t.base[i]); !gone {
				last = t.base[i]
				break
			}
		}
		if len(added) <= maxSortInsert && (len(added) == 0 || added[0] > last) && t.remove(removed) {
			t.base = slices.DeleteFunc(t.base, func(u uint32) bool {
				_, gone := slices.BinarySearch(removed, u)
				return gone
			})
			if len(added) == 0 {
				return nil, nil
			}
			items, err := c.threadItemsOf(added)
			if err != nil {
				return nil, err
			}
			if len(items) == len(added) {
				t.add(items, false)
				t.base = append(t.base, added...)
				return nil, nil
			}
		}
	}
	items, err := c.sortItems(key, true)
	if err != nil {
		return nil, err
	}
	t.base, t.graph, t.subj = nil, nil, nil
	if len(items) != len(uids) {
		return threadBy(t.alg, items), nil
	}
	kept := make([]sortItem, len(items))
	for i := range items {
		kept[i] = threadItem(&items[i])
	}
	t.build(kept)
	return nil, nil
}

// threadItemsOf reads the new messages' data and keys, as kept items;
// fewer when the store no longer has some.
func (c *conn) threadItemsOf(uids []uint32) ([]sortItem, error) {
	set := store.UIDSet{}
	for _, u := range uids {
		set.Add(u)
	}
	items := make([]sortItem, 0, len(uids))
	err := c.sel.mb.Messages(c.ctx(), set, func(m *store.MessageInfo) error {
		if _, ok := slices.BinarySearch(uids, m.UID); ok {
			items = append(items, sortItem{uid: m.UID, arrival: m.InternalDate.Unix()})
		}
		return nil
	})
	if err != nil || len(items) != len(uids) {
		return items, err
	}
	if err := c.attachSortKeys(items); err != nil {
		return nil, err
	}
	for i := range items {
		items[i] = threadItem(&items[i])
	}
	return items, nil
}

// threadItem is the kept form of a message in a thread result: its UID
// stands for the sequence number, which orders the same way and
// survives expunges.
func threadItem(it *sortItem) sortItem {
	return sortItem{uid: it.uid, seq: it.uid, date: it.date, keys: it.keys}
}

// diffUIDs returns the UIDs of a missing from b and of b missing from a
// (both ascending).
func diffUIDs(a, b []uint32) (removed, added []uint32) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			removed = append(removed, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			added = append(added, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return removed, added
}

func (c *conn) writeThreadResponse(roots []*threadNode, uid bool) {
	num := itemSeq
	if uid {
		num = itemUID
	}
	c.w.Write(appendThreadResponse(nil, roots, num))
}

// threadState is a THREAD result kept over every message of base (in
// UID order), with its answers as sent (sequence-number and UID form)
// once written. mu serialises the sessions updating and answering it.
type threadState struct {
	alg     string
	mu      sync.Mutex
	base    []uint32
	graph   *threadGraph    // REFERENCES, REFS
	subj    *subjectThreads // ORDEREDSUBJECT
	replies [2][]byte
}

// build threads items (kept form, in UID order) from nothing.
func (t *threadState) build(items []sortItem) {
	t.base = make([]uint32, len(items))
	for i := range items {
		t.base[i] = items[i].uid
	}
	t.graph, t.subj = nil, nil
	if t.alg == "ORDEREDSUBJECT" {
		t.subj = newSubjectThreads(len(items))
	} else {
		t.graph = newThreadGraph(t.alg == "REFERENCES", len(items))
	}
	t.add(items, true)
}

// add threads new messages (bulk: the first build).
func (t *threadState) add(items []sortItem, bulk bool) {
	if t.subj != nil {
		t.subj.add(items, bulk)
		return
	}
	if bulk {
		t.graph.build(items)
	} else {
		t.graph.add(items)
	}
}

// remove drops expunged messages; false when the result must be built
// again.
func (t *threadState) remove(uids []uint32) bool {
	switch {
	case len(uids) == 0:
		return true
	case t.subj != nil:
		t.subj.remove(uids)
	case t.graph == nil || !t.graph.remove(uids):
		return false
	}
	t.order().forgetSeqs() // the sequence numbers after them moved
	return true
}

// order is the kept threads in answer order.
func (t *threadState) order() *threadOrder {
	if t.subj != nil {
		return &t.subj.order
	}
	if t.graph != nil {
		return &t.graph.order
	}
	return &threadOrder{}
}
