package imap

import (
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// star stands for "*" in a parsed sequence set: the largest number in use.
const star = 0

// seqRange is one element of a sequence set; star in either end means "*".
type seqRange struct{ start, stop uint32 }

// numSet is a parsed IMAP sequence set (RFC 9051 sequence-set) of message
// sequence numbers or UIDs, before "*" is resolved. Saved reports the
// SEARCHRES "$" marker, which stands for the last saved search result.
type numSet struct {
	Ranges []seqRange
	Saved  bool
}

// maxSeqSetLen bounds the text of one sequence set.
const maxSeqSetLen = 64 << 10

// parseNumSet parses an IMAP sequence set such as "1:3,7,9:*" or "$".
// It never expands ranges, so "1:4294967295" costs one element.
func parseNumSet(s string) (numSet, error) {
	if s == "$" {
		return numSet{Saved: true}, nil
	}
	if s == "" {
		return numSet{}, badf("Empty sequence set")
	}
	if len(s) > maxSeqSetLen {
		return numSet{}, badf("Sequence set too long")
	}
	var set numSet
	for len(s) > 0 {
		var part string
		if i := strings.IndexByte(s, ','); i >= 0 {
			part, s = s[:i], s[i+1:]
			if s == "" {
				return numSet{}, badf("Invalid sequence set: trailing comma")
			}
		} else {
			part, s = s, ""
		}
		a, b, isRange := strings.Cut(part, ":")
		start, err := parseSeqNumber(a)
		if err != nil {
			return numSet{}, err
		}
		stop := start
		if isRange {
			if stop, err = parseSeqNumber(b); err != nil {
				return numSet{}, err
			}
		}
		set.Ranges = append(set.Ranges, seqRange{start, stop})
	}
	return set, nil
}

func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return star, nil
	}
	if s == "" || len(s) > 10 || s[0] == '0' {
		return 0, badf("Invalid sequence number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, badf("Invalid sequence number")
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, badf("Sequence number out of range")
	}
	return uint32(n), nil
}

// String formats the set back in IMAP syntax.
func (s numSet) String() string {
	if s.Saved {
		return "$"
	}
	var b strings.Builder
	num := func(n uint32) {
		if n == star {
			b.WriteByte('*')
		} else {
			b.WriteString(strconv.FormatUint(uint64(n), 10))
		}
	}
	for i, r := range s.Ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		num(r.start)
		if r.stop != r.start {
			b.WriteByte(':')
			num(r.stop)
		}
	}
	return b.String()
}

// seqSet reads a sequence set argument from the command line.
func (r *reader) seqSet() (numSet, error) {
	s, err := r.atomFunc(func(b byte) bool {
		return b >= '0' && b <= '9' || b == ':' || b == ',' || b == '*' || b == '$'
	}, "sequence set")
	if err != nil {
		return numSet{}, err
	}
	return parseNumSet(s)
}

// uidSetOf resolves a UID set against the view: "*" is the largest UID
// in the mailbox (RFC 9051 6.4.9); ranges stay ranges. An empty mailbox
// yields an empty set.
func (v *view) uidSetOf(s numSet) store.UIDSet {
	set := store.UIDSet{}
	max := v.maxUID()
	for _, r := range s.Ranges {
		a, b := r.start, r.stop
		if a == star {
			a = max
		}
		if b == star {
			b = max
		}
		if a == 0 || b == 0 {
			continue // "*" in an empty mailbox matches nothing
		}
		set.AddRange(a, b)
	}
	return set
}

// seqToUIDSet resolves a message sequence set to UIDs. A number beyond
// the mailbox's size is an error (RFC 9051 asks for BAD). Because the
// view holds exactly the mailbox's UIDs in order, the sequence range a:b
// is the UID range uid(a):uid(b), which keeps 1:* one range.
func (v *view) seqToUIDSet(s numSet) (store.UIDSet, error) {
	return v.seqToUIDSetMode(s, false)
}

// seqToUIDSetMode is seqToUIDSet; lenient drops numbers beyond the
// mailbox instead of failing, as SEARCH does (Dovecot answers an empty
// result, not BAD).
func (v *view) seqToUIDSetMode(s numSet, lenient bool) (store.UIDSet, error) {
	set := store.UIDSet{}
	n := uint32(len(v.uids))
	for _, r := range s.Ranges {
		a, b := r.start, r.stop
		if a == star {
			a = n
		}
		if b == star {
			b = n
		}
		if a == 0 || b == 0 {
			continue
		}
		if a > n || b > n {
			if !lenient {
				return nil, badf("Invalid message sequence number")
			}
			a, b = min(a, b), min(max(a, b), n)
			if a > n {
				continue
			}
		}
		set.AddRange(v.uids[a-1], v.uids[b-1])
	}
	return set, nil
}
