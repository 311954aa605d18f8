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
	items, err := c.sortItems(key, true)
	if err != nil {
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
	c.w.str("* THREAD")
	if len(roots) > 0 {
		c.w.byte(' ')
		c.writeThreads(roots, uid)
	}
	c.w.crlf()
	return c.w.err
}
