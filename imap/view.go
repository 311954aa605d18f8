package imap

import (
	"sort"

	"github.com/yubinmail/yubin/store"
)

// view is the session's sequence-number tracker: the UIDs of the selected
// mailbox in ascending order, as the client has been told about them.
// Message sequence number n is uids[n-1].
//
// The session polls its store handle only at moments when it may tell the
// client everything the poll returned (never during FETCH, STORE or
// SEARCH by sequence number), so the view and the handle's state agree
// whenever a command resolves sequence numbers.
type view struct {
	uids []uint32
}

func (v *view) count() uint32 { return uint32(len(v.uids)) }

func (v *view) maxUID() uint32 {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// seqOf returns the sequence number of uid, or 0 when it is not in view.
func (v *view) seqOf(uid uint32) uint32 {
	i := sort.Search(len(v.uids), func(i int) bool { return v.uids[i] >= uid })
	if i < len(v.uids) && v.uids[i] == uid {
		return uint32(i + 1)
	}
	return 0
}

// add appends a new UID; UIDs the view already holds (or older ones,
// which a store never reports as new) are ignored. It reports whether
// the view grew.
func (v *view) add(uid uint32) bool {
	if uid <= v.maxUID() {
		return false
	}
	v.uids = append(v.uids, uid)
	return true
}

// expunge removes the given UIDs (ascending) and returns the sequence
// numbers to report, in the order EXPUNGE responses must carry them:
// each number as it is after the previous ones were removed.
func (v *view) expunge(uids []uint32) []uint32 {
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		if v.seqOf(u) != 0 {
			gone[u] = true
		}
	}
	if len(gone) == 0 {
		return nil
	}
	seqs := make([]uint32, 0, len(gone))
	out := v.uids[:0]
	for i, u := range v.uids {
		if gone[u] {
			seqs = append(seqs, uint32(i+1-len(seqs)))
			continue
		}
		out = append(out, u)
	}
	v.uids = out
	return seqs
}

// expungedSet returns the UIDs among uids that the view holds, as a set
// (for VANISHED).
func (v *view) present(uids []uint32) store.UIDSet {
	set := store.UIDSet{}
	for _, u := range uids {
		if v.seqOf(u) != 0 {
			set.Add(u)
		}
	}
	return set
}

// missingIn returns the UIDs of known that the view does not hold, as
// ranges (QRESYNC VANISHED (EARLIER)); it walks ranges and gaps, so a
// range like 1:4294967295 costs the size of the view, not of the range.
func (v *view) missingIn(known store.UIDSet) store.UIDSet {
	out := store.UIDSet{}
	for _, r := range known {
		start := r.Start
		i := sort.Search(len(v.uids), func(i int) bool { return v.uids[i] >= r.Start })
		for ; i < len(v.uids) && v.uids[i] <= r.Stop; i++ {
			if v.uids[i] > start {
				out.AddRange(start, v.uids[i]-1)
			}
			start = v.uids[i] + 1
			if start == 0 {
				break
			}
		}
		if start != 0 && start <= r.Stop {
			if i == len(v.uids) || v.uids[i] > r.Stop {
				out.AddRange(start, r.Stop)
			}
		}
	}
	return out
}
