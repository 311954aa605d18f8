package imap

import "strings"

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
	items, err := c.sortItems(key, false)
	if err != nil {
		return err
	}
	sum := uidFingerprint(items)
	if t := c.sel.thread; t != nil && t.alg == alg && t.sum == sum && len(t.items) == len(items) {
		// The same messages as this session's last THREAD: the threads
		// are the same; only sequence numbers may have moved.
		for i := range items {
			t.items[i].seq = items[i].seq
		}
		c.writeThreadResponse(t.roots, uid)
		return c.w.err
	}
	if err := c.attachSortKeys(items); err != nil {
		return err
	}
	var roots []*threadNode
	switch alg {
	case "REFERENCES":
		roots = threadReferences(items)
	case "REFS":
		roots = threadRefs(items)
	default:
		roots = threadOrderedSubject(items)
	}
	c.sel.thread = &threadResult{alg: alg, sum: sum, items: items, roots: roots}
	c.writeThreadResponse(roots, uid)
	return c.w.err
}

// threadResult is a session's last THREAD answer, kept for the next
// THREAD with the same algorithm over the same messages (webmail repeats
// it on every view of a folder). items is what the nodes point into.
type threadResult struct {
	alg   string
	sum   uint64
	items []sortItem
	roots []*threadNode
}

func (c *conn) writeThreadResponse(roots []*threadNode, uid bool) {
	c.w.str("* THREAD")
	if len(roots) > 0 {
		c.w.byte(' ')
		c.writeThreads(roots, uid)
	}
	c.w.crlf()
}
