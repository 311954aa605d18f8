package imap

import (
	"slices"
	"strings"
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
// mailbox's kept result for alg, threading again when the messages
// changed.
func (c *conn) threadAll(key *searchKey, alg string, uid bool) error {
	uids := c.sel.view.uids
	_, box := c.selectedSortBox()
	box.mu.Lock()
	t := box.threads[alg]
	box.mu.Unlock()
	if t == nil || !slices.Equal(t.base, uids) {
		items, err := c.sortItems(key, true)
		if err != nil {
			return err
		}
		t = &threadCache{base: make([]uint32, len(items)), roots: threadBy(alg, items)}
		for i := range items {
			t.base[i] = items[i].uid
		}
		box.mu.Lock()
		if box.threads == nil {
			box.threads = map[string]*threadCache{}
		}
		box.threads[alg] = t
		box.mu.Unlock()
	}
	if !slices.Equal(t.base, uids) {
		// A message of the view is gone from the store: answer
		// without keeping the answer.
		c.writeThreadResponse(t.roots, uid)
		return c.w.err
	}
	form := 0
	if uid {
		form = 1
	}
	box.mu.Lock()
	reply := t.replies[form]
	box.mu.Unlock()
	if reply == nil {
		reply = appendThreadResponse(make([]byte, 0, 16*len(uids)), t.roots, uid)
		box.mu.Lock()
		t.replies[form] = reply
		box.mu.Unlock()
	}
	c.w.Write(reply)
	return c.w.err
}

func (c *conn) writeThreadResponse(roots []*threadNode, uid bool) {
	c.w.Write(appendThreadResponse(nil, roots, uid))
}
