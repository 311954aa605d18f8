package imap

import (
	"cmp"
	"slices"
)

// subjectThreads is the kept THREAD ORDEREDSUBJECT result (RFC 5256
// 2.1): one group per base subject, its messages in (sent date, UID)
// order, the first the parent of the others. A change touches only the
// groups of the messages that came or went. Items carry their UID as
// seq, as in threadGraph.
type subjectThreads struct {
	groups map[string]*subjectGroup
	byUID  map[uint32]*sortItem
	order  threadOrder
}

type subjectGroup struct {
	threadGroup
	items []*sortItem // in (sent date, UID) order
}

func newSubjectThreads(n int) *subjectThreads {
	return &subjectThreads{groups: map[string]*subjectGroup{}, byUID: make(map[uint32]*sortItem, n)}
}

func compareSubjectItems(a, b *sortItem) int {
	if r := cmp.Compare(a.date, b.date); r != 0 {
		return r
	}
	return cmp.Compare(a.seq, b.seq)
}

// add threads new messages (bulk: a first build, sorted once at the end).
func (s *subjectThreads) add(items []sortItem, bulk bool) {
	dirty := map[*subjectGroup]bool{}
	for i := range items {
		it := &items[i]
		s.byUID[it.uid] = it
		grp := s.groups[it.keys.Subject]
		if grp == nil {
			grp = &subjectGroup{}
			grp.subject = it.keys.Subject
			s.groups[it.keys.Subject] = grp
		}
		s.detach(grp, dirty, bulk)
		if bulk {
			grp.items = append(grp.items, it)
		} else {
			j, _ := slices.BinarySearchFunc(grp.items, it, compareSubjectItems)
			grp.items = slices.Insert(grp.items, j, it)
		}
	}
	s.settle(dirty, bulk)
}

// remove drops expunged messages.
func (s *subjectThreads) remove(uids []uint32) {
	dirty := map[*subjectGroup]bool{}
	for _, u := range uids {
		it := s.byUID[u]
		if it == nil {
			continue
		}
		delete(s.byUID, u)
		grp := s.groups[it.keys.Subject]
		s.detach(grp, dirty, false)
		grp.items = slices.DeleteFunc(grp.items, func(x *sortItem) bool { return x == it })
	}
	s.settle(dirty, false)
}

// detach takes grp out of the answer order until settle derives it again.
func (s *subjectThreads) detach(grp *subjectGroup, dirty map[*subjectGroup]bool, bulk bool) {
	if dirty[grp] {
		return
	}
	dirty[grp] = true
	if grp.out != nil && !bulk {
		s.order.remove(&grp.threadGroup)
	}
	grp.out, grp.wire = nil, [2][]byte{}
}

// settle derives the changed groups and puts them back in order.
func (s *subjectThreads) settle(dirty map[*subjectGroup]bool, bulk bool) {
	for grp := range dirty {
		if len(grp.items) == 0 {
			delete(s.groups, grp.subject)
			continue
		}
		if bulk {
			slices.SortFunc(grp.items, compareSubjectItems)
		}
		first := grp.items[0]
		root := &threadNode{item: first, date: first.date, seq: first.seq}
		if len(grp.items) > 1 {
			root.children = make([]*threadNode, len(grp.items)-1)
			for i, it := range grp.items[1:] {
				root.children[i] = &threadNode{item: it, parent: root, date: it.date, seq: it.seq}
			}
		}
		grp.out, grp.date, grp.seq = root, root.date, root.seq
		if bulk {
			s.order.groups = append(s.order.groups, &grp.threadGroup)
		} else {
			s.order.insert(&grp.threadGroup)
		}
	}
	if bulk {
		slices.SortFunc(s.order.groups, compareGroups)
	}
}
