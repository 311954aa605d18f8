package imap

import "slices"

// A THREAD REFERENCES or REFS over every message of a mailbox is kept
// per mailbox as RFC 5256 2.2's link graph (step 1: the message-id
// table and the parent links, in UID order) and the threads derived
// from it, grouped by base subject (step 5) and kept sorted. A new
// message has a higher UID than every message threaded before, so
// linking it is exactly the next iteration of step 1: only the threads
// its links touch are derived again. An expunged message whose container
// nobody referenced, that has no children and whose references made no
// link but its own parent link is unlinked the same way; any other
// expunge can change how later messages linked, and the graph is built
// again. The graph's containers are threadNodes with id, refd and
// linked set; the threads derived from it are copies (tree).

// threadGroup is one thread of the answer: for REFERENCES the link
// roots sharing a base subject (or one root whose subject is empty), for
// REFS one link root. out is the derived tree (nil when everything in it
// was pruned), ordered in the answer by (date, seq).
type threadGroup struct {
	subject string
	roots   []*threadNode
	out     *threadNode
	date    int64
	seq     uint32
	// wire is out as sent, "(...)", with sequence numbers and with
	// UIDs, once written: a change derives only the groups it touches
	// again, so the others' bytes are reused (sequence numbers until an
	// expunge shifts them).
	wire [2][]byte
}

// threadGraph is the kept REFERENCES (bySubject) or REFS result. Items
// carry their UID as seq: UIDs order messages as sequence numbers do,
// and stay valid across expunges.
type threadGraph struct {
	bySubject bool
	byID      map[string]*threadNode
	byUID     map[uint32]*threadNode
	groupOf   map[*threadNode]*threadGroup // by link root
	subjects  map[string]*threadGroup
	order     threadOrder
}

func newThreadGraph(bySubject bool, n int) *threadGraph {
	return &threadGraph{bySubject: bySubject, byID: make(map[string]*threadNode, n), byUID: make(map[uint32]*threadNode, n),
		groupOf: map[*threadNode]*threadGroup{}, subjects: map[string]*threadGroup{}}
}

// lookup returns the container of a referenced message-id, creating a
// dummy.
func (g *threadGraph) lookup(id string) *threadNode {
	n := g.byID[id]
	if n == nil {
		n = &threadNode{id: id}
		g.byID[id] = n
	}
	n.refd = true
	return n
}

// link is step 1 for one message (the UID after every UID linked so
// far); it returns the containers whose links it changed.
func (g *threadGraph) link(it *sortItem, touched []*threadNode) (*threadNode, []*threadNode) {
	var self *threadNode
	id := it.keys.MessageID
	if old := g.byID[id]; id != "" && (old == nil || old.item == nil) {
		self = old
		if self == nil {
			self = &threadNode{id: id}
			g.byID[id] = self
		}
	} else {
		// No Message-ID, or a duplicate: a container of its own.
		if old != nil {
			old.refd = true
		}
		self = &threadNode{}
	}
	self.item = it
	g.byUID[it.uid] = self
	touched = append(touched, self)
	if self.parent != nil {
		touched = append(touched, self.parent)
	}
	var prev *threadNode
	for _, ref := range it.keys.References {
		r := g.lookup(ref)
		if r == self {
			continue
		}
		touched = append(touched, r)
		if prev != nil && r.parent == nil && !r.isAncestorOf(prev) && prev != r {
			prev.addChild(r)
			self.linked = true
		}
		prev = r
	}
	if prev != nil && (prev == self || self.isAncestorOf(prev)) {
		prev = nil
	}
	if self.parent != nil && self.parent != prev {
		self.linked = true
	}
	if prev != nil {
		prev.addChild(self)
	} else {
		self.unlink()
	}
	return self, touched
}

// rootOf is the root of n's link tree; memo caches the walk.
func rootOf(n *threadNode, memo map[*threadNode]*threadNode) *threadNode {
	var path []*threadNode
	r := n
	for r.parent != nil {
		if m, ok := memo[r]; ok {
			r = m
			break
		}
		path = append(path, r)
		r = r.parent
	}
	for _, p := range path {
		memo[p] = r
	}
	return r
}

// build threads items (in UID order) from nothing.
func (g *threadGraph) build(items []sortItem) {
	var touched []*threadNode
	for i := range items {
		_, touched = g.link(&items[i], touched[:0])
	}
	var roots []*threadNode
	for _, n := range g.byUID {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	for _, n := range g.byID {
		if n.item == nil && n.parent == nil {
			roots = append(roots, n)
		}
	}
	g.regroup(nil, roots)
}

// add links new messages, all with UIDs above those linked before, and
// derives the threads they touched again.
func (g *threadGraph) add(items []sortItem) {
	memo := map[*threadNode]*threadNode{}
	var before, touched []*threadNode
	for i := range items {
		it := &items[i]
		// The roots of the containers the message will touch, before.
		if id := it.keys.MessageID; id != "" {
			if n := g.byID[id]; n != nil {
				before = append(before, rootOf(n, memo))
			}
		}
		for _, ref := range it.keys.References {
			if n := g.byID[ref]; n != nil {
				before = append(before, rootOf(n, memo))
			}
		}
		clear(memo)
		_, touched = g.link(it, touched)
	}
	after := make([]*threadNode, 0, len(touched)+len(before))
	for _, n := range touched {
		after = append(after, rootOf(n, memo))
	}
	for _, r := range before {
		if r.parent == nil {
			after = append(after, r)
		}
	}
	g.regroup(before, after)
}

// remove unlinks expunged messages; false when one of them may have
// shaped links beyond its own container (the caller builds again).
func (g *threadGraph) remove(uids []uint32) bool {
	for _, u := range uids {
		n := g.byUID[u]
		if n == nil || len(n.children) > 0 || n.refd || n.linked {
			return false
		}
	}
	memo := map[*threadNode]*threadNode{}
	var before, after []*threadNode
	for _, u := range uids {
		n := g.byUID[u]
		r := rootOf(n, memo)
		clear(memo)
		before = append(before, r)
		p := n.parent
		n.unlink()
		delete(g.byUID, u)
		if n.id != "" && g.byID[n.id] == n {
			delete(g.byID, n.id)
		}
		// A dummy left with no links stands for nothing.
		if p != nil && p.item == nil && p.parent == nil && len(p.children) == 0 {
			delete(g.byID, p.id)
		}
		if r != n && (r != p || r.item != nil || len(r.children) > 0) {
			after = append(after, r)
		}
	}
	g.regroup(before, after)
	return true
}

// tree derives the thread of link root r: a copy with dummies pruned
// (step 3) and children sorted (step 4); nil when nothing is left.
func tree(r *threadNode) *threadNode {
	type pair struct {
		l *threadNode
		t *threadNode
	}
	root := &threadNode{item: r.item}
	stack := []pair{{r, root}}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(p.l.children) == 0 {
			continue
		}
		p.t.children = make([]*threadNode, len(p.l.children))
		for i, ch := range p.l.children {
			t := &threadNode{item: ch.item, parent: p.t}
			p.t.children[i] = t
			stack = append(stack, pair{ch, t})
		}
	}
	out := pruneDummies([]*threadNode{root}, true)
	if len(out) == 0 {
		return nil
	}
	sortThread(out[0])
	return out[0]
}

// regroup moves the link roots in before (the roots of what changed, as
// they were) out of their groups and the roots in after (as they are)
// into theirs, and derives every group that changed again.
func (g *threadGraph) regroup(before, after []*threadNode) {
	dirty := map[*threadGroup]bool{}
	for _, r := range before {
		grp := g.groupOf[r]
		if grp == nil {
			continue
		}
		delete(g.groupOf, r)
		grp.roots = slices.DeleteFunc(grp.roots, func(x *threadNode) bool { return x == r })
		dirty[grp] = true
	}
	trees := map[*threadNode]*threadNode{}
	for _, r := range after {
		if r.parent != nil {
			continue
		}
		if _, done := trees[r]; done {
			continue
		}
		if grp := g.groupOf[r]; grp != nil {
			delete(g.groupOf, r)
			grp.roots = slices.DeleteFunc(grp.roots, func(x *threadNode) bool { return x == r })
			dirty[grp] = true
		}
		if r.item == nil && len(r.children) == 0 {
			continue
		}
		t := tree(r)
		trees[r] = t
		var grp *threadGroup
		if g.bySubject && t != nil && subjectKey(t) != "" {
			subj := subjectKey(t)
			grp = g.subjects[subj]
			if grp == nil {
				grp = &threadGroup{subject: subj}
				g.subjects[subj] = grp
			}
		} else {
			grp = &threadGroup{}
		}
		grp.roots = append(grp.roots, r)
		g.groupOf[r] = grp
		dirty[grp] = true
	}
	bulk := len(dirty) > 64
	if bulk {
		g.order.groups = slices.DeleteFunc(g.order.groups, func(grp *threadGroup) bool { return dirty[grp] })
	}
	for grp := range dirty {
		if grp.out != nil && !bulk {
			g.order.remove(grp)
		}
		grp.out, grp.wire = nil, [2][]byte{}
		if len(grp.roots) == 0 {
			if grp.subject != "" {
				delete(g.subjects, grp.subject)
			}
			continue
		}
		g.derive(grp, trees)
		if grp.out == nil {
			continue
		}
		if bulk {
			g.order.groups = append(g.order.groups, grp)
		} else {
			g.order.insert(grp)
		}
	}
	if bulk {
		slices.SortFunc(g.order.groups, compareGroups)
	}
}

// subjectKey is the base subject a derived thread is grouped by.
func subjectKey(t *threadNode) string {
	subj, _, ok := subjectOf(t)
	if !ok {
		return ""
	}
	return subj
}

// derive computes grp's thread from its link roots: steps 3 to 6 of
// REFERENCES, or REFS' order by latest date.
func (g *threadGraph) derive(grp *threadGroup, trees map[*threadNode]*threadNode) {
	list := make([]*threadNode, 0, len(grp.roots))
	for _, r := range grp.roots {
		t, ok := trees[r]
		if !ok {
			t = tree(r)
		}
		delete(trees, r) // step 5 changes it; a second use needs a copy
		if t != nil {
			list = append(list, t)
		}
	}
	if len(list) == 0 {
		return
	}
	if len(list) > 1 {
		sortSiblings(list)
		list = groupBySubject(list)
		for _, t := range list {
			sortThread(t)
		}
	}
	out := list[0]
	grp.out, grp.date, grp.seq = out, out.date, out.seq
	if !g.bySubject {
		grp.date = latestDate(out)
	}
}

// threadOrder is the kept threads in answer order: by date, then
// sequence number (here UID) of their first message.
type threadOrder struct{ groups []*threadGroup }

func compareGroups(a, b *threadGroup) int {
	if a.date != b.date {
		if a.date < b.date {
			return -1
		}
		return 1
	}
	return int(int64(a.seq) - int64(b.seq))
}

func (o *threadOrder) insert(grp *threadGroup) {
	i, _ := slices.BinarySearchFunc(o.groups, grp, compareGroups)
	o.groups = slices.Insert(o.groups, i, grp)
}

func (o *threadOrder) remove(grp *threadGroup) {
	i, _ := slices.BinarySearchFunc(o.groups, grp, compareGroups)
	for ; i < len(o.groups); i++ {
		if o.groups[i] == grp {
			o.groups = slices.Delete(o.groups, i, i+1)
			return
		}
	}
}

// forgetSeqs drops the sequence-number form of every thread's bytes
// (after an expunge).
func (o *threadOrder) forgetSeqs() {
	for _, grp := range o.groups {
		grp.wire[0] = nil
	}
}

// reply is the THREAD response (form 0: sequence numbers given by num;
// 1: UIDs), from each thread's bytes, written when missing.
func (o *threadOrder) reply(form int, num func(*sortItem) uint32) []byte {
	buf := make([]byte, 0, 16*len(o.groups)+16)
	buf = append(buf, "* THREAD"...)
	if len(o.groups) > 0 {
		buf = append(buf, ' ')
	}
	for _, grp := range o.groups {
		w := grp.wire[form]
		if w == nil {
			w = appendThreadMembers(append(make([]byte, 0, 16), '('), grp.out, num)
			w = append(w, ')')
			grp.wire[form] = w
		}
		buf = append(buf, w...)
	}
	return append(buf, "\r\n"...)
}
