package store

import (
	"sort"
	"strconv"
	"strings"
)

// UIDRange is an inclusive range of UIDs; Start <= Stop.
type UIDRange struct{ Start, Stop uint32 }

// UIDSet is a set of UIDs as ranges. A nil UIDSet passed to a Mailbox
// method means "every message". Protocols resolve IMAP's "*" before
// building a set. Sets are kept small: a range 1:4294967295 is one entry,
// never expanded.
type UIDSet []UIDRange

// UIDSetOf returns a set holding the given UIDs. Of no UIDs it returns
// an empty set, not nil: nil would mean every message to a Mailbox.
func UIDSetOf(uids ...uint32) UIDSet {
	s := UIDSet{}
	for _, u := range uids {
		s.Add(u)
	}
	return s
}

// Contains reports whether uid is in s. A nil set contains every UID.
func (s UIDSet) Contains(uid uint32) bool {
	if s == nil {
		return true
	}
	i := sort.Search(len(s), func(i int) bool { return s[i].Stop >= uid })
	if i < len(s) && s[i].Start <= uid {
		return true
	}
	// Sets built by hand may be unsorted: fall back to a scan.
	for _, r := range s {
		if r.Start <= uid && uid <= r.Stop {
			return true
		}
	}
	return false
}

// Add inserts uid, keeping s sorted and merged.
func (s *UIDSet) Add(uid uint32) { s.AddRange(uid, uid) }

// AddRange inserts the inclusive range start:stop (in either order),
// keeping s sorted with adjacent and overlapping ranges merged.
func (s *UIDSet) AddRange(start, stop uint32) {
	if start > stop {
		start, stop = stop, start
	}
	set := *s
	if set == nil {
		set = UIDSet{}
	}
	i := sort.Search(len(set), func(i int) bool { return set[i].Stop >= start || (start > 0 && set[i].Stop == start-1) })
	j := i
	for j < len(set) && (set[j].Start <= stop || (stop < ^uint32(0) && set[j].Start == stop+1)) {
		if set[j].Start < start {
			start = set[j].Start
		}
		if set[j].Stop > stop {
			stop = set[j].Stop
		}
		j++
	}
	out := append(set[:i:i], UIDRange{start, stop})
	*s = append(out, set[j:]...)
}

// Empty reports whether s is non-nil and holds no UID.
func (s UIDSet) Empty() bool { return s != nil && len(s) == 0 }

// String formats s in IMAP sequence-set syntax ("1:3,7"); an empty set is "".
func (s UIDSet) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(r.Start), 10))
		if r.Stop != r.Start {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(r.Stop), 10))
		}
	}
	return b.String()
}
