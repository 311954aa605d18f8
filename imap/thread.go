package imap

import (
	"cmp"
	"slices"
	"strconv"
)

// threadNode is a container of RFC 5256's REFERENCES algorithm: a
// message, or a dummy (item nil) standing for a referenced message that
// is not in the set.
type threadNode struct {
	item     *sortItem
	parent   *threadNode
	children []*threadNode
	date     int64 // sort date: the message's sent date, or a dummy's first child's
	seq      uint32
	// In a kept link graph (threadgraph.go): the message-id the
	// container is filed under ("": none), whether a reference or a
	// duplicate message-id looked it up, and whether its message's
	// step 1 made links besides its own parent link.
	id           string
	refd, linked bool
}

// maxThreadWalk bounds the ancestors isAncestorOf visits; a deeper
// thread is treated as a loop, so a hostile mailbox cannot make linking
// quadratic without bound.
const maxThreadWalk = 10000

// isAncestorOf reports whether n is m or one of m's ancestors (linking
// m as n's parent would make a loop).
func (n *threadNode) isAncestorOf(m *threadNode) bool {
	if len(n.children) == 0 {
		return n == m
	}
	steps := 0
	for p := m; p != nil; p = p.parent {
		if p == n || steps > maxThreadWalk {
			return true
		}
		steps++
	}
	return false
}

func (n *threadNode) unlink() {
	if p := n.parent; p != nil {
		p.children = slices.DeleteFunc(p.children, func(c *threadNode) bool { return c == n })
		n.parent = nil
	}
}

func (n *threadNode) addChild(c *threadNode) {
	c.unlink()
	c.parent = n
	n.children = append(n.children, c)
}

// threadReferences builds the threads of RFC 5256 2.2's REFERENCES
// algorithm over items (in UID order) and returns the root set, sorted.
func threadReferences(items []sortItem) []*threadNode {
	return threadLinks(items, true)
}

// threadRefs builds THREAD=REFS threads (draft-ietf-morg-inthread, as
// Dovecot implements it): REFERENCES' links without grouping by
// subject, threads ordered by their latest message.
func threadRefs(items []sortItem) []*threadNode {
	roots := threadLinks(items, false)
	latest := make(map[*threadNode]int64, len(roots))
	for _, r := range roots {
		latest[r] = latestDate(r)
	}
	slices.SortStableFunc(roots, func(a, b *threadNode) int {
		if r := cmp.Compare(latest[a], latest[b]); r != 0 {
			return r
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return roots
}

// latestDate is the latest sent date in n's subtree.
func latestDate(n *threadNode) int64 {
	d := int64(-1 << 63)
	stack := []*threadNode{n}
	for len(stack) > 0 {
		m := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if m.item != nil {
			d = max(d, m.item.sentDate())
		}
		stack = append(stack, m.children...)
	}
	return d
}

func threadLinks(items []sortItem, bySubject bool) []*threadNode {
	byID := make(map[string]*threadNode, len(items))
	node := func(id string) *threadNode {
		n := byID[id]
		if n == nil {
			n = &threadNode{}
			byID[id] = n
		}
		return n
	}
	var all []*threadNode
	// Step 1.
	for i := range items {
		it := &items[i]
		var self *threadNode
		if id := it.keys.MessageID; id != "" && (byID[id] == nil || byID[id].item == nil) {
			self = node(id)
		} else {
			// No Message-ID, or a duplicate: a unique container.
			self = &threadNode{}
		}
		self.item = it
		all = append(all, self)
		// 1A: link the references in order.
		var prev *threadNode
		for _, ref := range it.keys.References {
			r := node(ref)
			if r == self {
				continue
			}
			if prev != nil && r.parent == nil && !r.isAncestorOf(prev) && prev != r {
				prev.addChild(r)
			}
			prev = r
		}
		// 1B: the last reference is the message's parent.
		if prev != nil && (prev == self || self.isAncestorOf(prev)) {
			prev = nil
		}
		if prev != nil {
			prev.addChild(self)
		} else {
			self.unlink()
		}
	}
	for _, n := range byID {
		if n.item == nil {
			all = append(all, n)
		}
	}
	// Step 2: the root set.
	var roots []*threadNode
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	// Step 3: prune dummies.
	roots = pruneDummies(roots, true)
	// Step 4: sort.
	for _, r := range roots {
		sortThread(r)
	}
	sortSiblings(roots)
	// Step 5: group the root set by base subject.
	if bySubject {
		roots = groupBySubject(roots)
	}
	// Step 6: sort again, now that subtrees changed.
	for _, r := range roots {
		sortThread(r)
	}
	sortSiblings(roots)
	return roots
}

// pruneDummies applies RFC 5256 2.2 step 3 to a list of siblings.
func pruneDummies(list []*threadNode, root bool) []*threadNode {
	var out []*threadNode
	for _, n := range list {
		n.children = pruneDummies(n.children, false)
		for _, ch := range n.children {
			ch.parent = n
		}
		if n.item != nil {
			out = append(out, n)
			continue
		}
		switch {
		case len(n.children) == 0:
			// A dummy without children goes.
		case root && len(n.children) > 1:
			// A dummy at the root with several children stays.
			out = append(out, n)
		default:
			// Otherwise its children take its place.
			for _, ch := range n.children {
				ch.parent = n.parent
			}
			out = append(out, n.children...)
			n.children = nil
		}
	}
	return out
}

// sortThread sorts n's descendants (deepest first) and sets the sort
// dates.
func sortThread(n *threadNode) {
	for _, ch := range n.children {
		sortThread(ch)
	}
	sortSiblings(n.children)
	if n.item != nil {
		n.date, n.seq = n.item.sentDate(), n.item.seq
	} else if len(n.children) > 0 {
		n.date, n.seq = n.children[0].date, n.children[0].seq
	}
}

// sortSiblings orders siblings by sent date, then sequence number.
func sortSiblings(list []*threadNode) {
	slices.SortFunc(list, func(a, b *threadNode) int {
		if r := cmp.Compare(a.date, b.date); r != 0 {
			return r
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// subjectOf is the base subject and reply flag of a root (a dummy's
// first child's).
func subjectOf(n *threadNode) (string, bool, bool) {
	m := n
	if m.item == nil {
		if len(m.children) == 0 {
			return "", false, false
		}
		m = m.children[0]
	}
	if m.item == nil {
		return "", false, false
	}
	return m.item.keys.Subject, m.item.keys.ReplyOrFwd, true
}

// groupBySubject is RFC 5256 2.2 step 5.
func groupBySubject(roots []*threadNode) []*threadNode {
	table := map[string]*threadNode{}
	// 5B: choose one root per subject.
	for _, r := range roots {
		subj, reply, ok := subjectOf(r)
		if !ok || subj == "" {
			continue
		}
		old := table[subj]
		if old == nil {
			table[subj] = r
			continue
		}
		_, oldReply, _ := subjectOf(old)
		if (r.item == nil && old.item != nil) || (old.item != nil && r.item != nil && oldReply && !reply) {
			table[subj] = r
		}
	}
	// 5C: merge the others into it.
	var out []*threadNode
	removed := map[*threadNode]bool{}
	replaced := map[*threadNode]*threadNode{}
	for _, r := range roots {
		subj, reply, ok := subjectOf(r)
		if !ok || subj == "" {
			continue
		}
		t := table[subj]
		if t == r || t == nil {
			continue
		}
		_, tReply, _ := subjectOf(t)
		switch {
		case t.item == nil && r.item == nil:
			// Both dummies: r's children join t.
			for _, ch := range slices.Clone(r.children) {
				t.addChild(ch)
			}
			removed[r] = true
		case t.item == nil:
			t.addChild(r)
			removed[r] = true
		case r.item != nil && reply && !tReply:
			t.addChild(r)
			removed[r] = true
		default:
			// A new dummy holds both.
			d := &threadNode{}
			if rep := replaced[t]; rep != nil {
				d = rep
			} else {
				d.addChild(t)
				replaced[t] = d
			}
			d.addChild(r)
			table[subj] = d
			removed[r] = true
		}
	}
	for _, r := range roots {
		if removed[r] {
			continue
		}
		if d := replaced[r]; d != nil {
			out = append(out, d)
			continue
		}
		out = append(out, r)
	}
	return out
}

// threadOrderedSubject builds ORDEREDSUBJECT threads (RFC 5256 2.1):
// messages grouped by base subject, each group ordered by sent date, the
// first message of a group the parent of the others; groups ordered by
// their first message's sent date.
func threadOrderedSubject(items []sortItem) []*threadNode {
	order := make([]*sortItem, len(items))
	for i := range items {
		order[i] = &items[i]
	}
	slices.SortFunc(order, func(a, b *sortItem) int {
		if r := cmp.Compare(a.keys.Subject, b.keys.Subject); r != 0 {
			return r
		}
		if r := cmp.Compare(a.date, b.date); r != 0 {
			return r
		}
		return cmp.Compare(a.seq, b.seq)
	})
	var roots []*threadNode
	var cur *threadNode
	for i, it := range order {
		n := &threadNode{item: it, date: it.sentDate(), seq: it.seq}
		if i == 0 || it.keys.Subject != order[i-1].keys.Subject {
			cur = n
			roots = append(roots, n)
			continue
		}
		cur.children = append(cur.children, n)
		n.parent = cur
	}
	sortSiblings(roots)
	return roots
}

// appendThreadResponse appends "* THREAD ..." for roots to buf (RFC
// 5256 4): each root as a parenthesised list; a message with one child
// continues the list with it, one with several children gives each
// child its own list. num gives the number sent for a message (its
// sequence number or UID).
func appendThreadResponse(buf []byte, roots []*threadNode, num func(*sortItem) uint32) []byte {
	buf = append(buf, "* THREAD"...)
	if len(roots) > 0 {
		buf = append(buf, ' ')
		for _, r := range roots {
			buf = append(buf, '(')
			buf = appendThreadMembers(buf, r, num)
			buf = append(buf, ')')
		}
	}
	return append(buf, "\r\n"...)
}

// itemSeq and itemUID are appendThreadResponse's num for sequence
// numbers and UIDs.
func itemSeq(it *sortItem) uint32 { return it.seq }
func itemUID(it *sortItem) uint32 { return it.uid }

func appendThreadMembers(buf []byte, n *threadNode, num func(*sortItem) uint32) []byte {
	// Iterative along single-child chains, so long chains cost no stack.
	for {
		if n.item != nil {
			buf = strconv.AppendUint(buf, uint64(num(n.item)), 10)
		}
		switch len(n.children) {
		case 0:
			return buf
		case 1:
			if n.item != nil {
				buf = append(buf, ' ')
			}
			n = n.children[0]
			continue
		}
		if n.item != nil {
			buf = append(buf, ' ')
		}
		for _, ch := range n.children {
			buf = append(buf, '(')
			buf = appendThreadMembers(buf, ch, num)
			buf = append(buf, ')')
		}
		return buf
	}
}
