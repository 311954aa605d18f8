package imapbench

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// message is a client's view of one message of the selected mailbox.
type message struct {
	uid    uint32   // 0 until a reply names it
	flags  []string // sorted, \Recent left out; valid when known
	known  bool     // flags known
	recent int8     // 1 \Recent in this session, -1 not, 0 not known yet
	modseq uint64
	// atSelect: counted by the SELECT's EXISTS (so its UID is below
	// the SELECT's UIDNEXT; a later message's is not).
	atSelect bool
}

// view is a session's model of its selected mailbox, as RFC 3501 and
// RFC 9051 define what a client knows: the messages in sequence order,
// the last FLAGS, the SELECT's UIDVALIDITY and UIDNEXT, HIGHESTMODSEQ.
type view struct {
	name        string
	readOnly    bool
	uidValidity uint32
	uidNext     uint32 // the SELECT's UIDNEXT, 0 when none
	msgs        []message
	flags       map[string]bool // the last FLAGS reply
	modSeq      uint64          // highest HIGHESTMODSEQ seen
	// exact: the client's private mailbox, which no other client
	// touches, so every change is this session's own.
	exact bool
	// approx: a VANISHED named a UID the view could place in more
	// than one gap, so UIDs are no longer checked.
	approx bool

	// Seen during the SELECT.
	sawFlags, sawExists, sawRecent, sawUIDValidity, sawModSeq bool
	recent                                                    int
}

// indexOfUID returns the index of the message with uid, or -1.
func (v *view) indexOfUID(uid uint32) int {
	for i := range v.msgs {
		if v.msgs[i].uid == uid {
			return i
		}
	}
	return -1
}

// gaps returns the indexes of the messages whose UID is unknown and
// could be uid: between the nearest known UIDs around them.
func (v *view) gaps(uid uint32) []int {
	var out []int
	for i := range v.msgs {
		switch u := v.msgs[i].uid; {
		case u == 0:
			out = append(out, i)
		case u >= uid:
			return out
		default:
			out = out[:0] // a gap before a lower UID cannot hold uid
		}
	}
	return out
}

// placeUID tells whether uid can be message i's: above every known UID
// before it, below every known UID after it.
func (v *view) placeUID(i int, uid uint32) (bool, string) {
	for j := i - 1; j >= 0; j-- {
		if u := v.msgs[j].uid; u != 0 {
			if u >= uid {
				return false, fmt.Sprintf("message %d has UID %d, not above message %d's UID %d", i+1, uid, j+1, u)
			}
			break
		}
	}
	for j := i + 1; j < len(v.msgs); j++ {
		if u := v.msgs[j].uid; u != 0 {
			if u <= uid {
				return false, fmt.Sprintf("message %d has UID %d, not below message %d's UID %d", i+1, uid, j+1, u)
			}
			break
		}
	}
	return true, ""
}

// maxUID is the highest UID the view knows.
func (v *view) maxUID() uint32 {
	for i := len(v.msgs) - 1; i >= 0; i-- {
		if v.msgs[i].uid != 0 {
			return v.msgs[i].uid
		}
	}
	return 0
}

// systemFlags are RFC 3501's system flags, applicable in every mailbox
// whatever FLAGS lists.
var systemFlags = map[string]bool{`\SEEN`: true, `\ANSWERED`: true, `\FLAGGED`: true, `\DELETED`: true, `\DRAFT`: true, `\RECENT`: true}

// normFlags returns flags sorted, \Recent left out, and whether \Recent
// was there. System flags are compared case-insensitively (as the
// protocol does), keywords too.
func normFlags(flags []string) ([]string, bool) {
	out := make([]string, 0, len(flags))
	recent := false
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) {
			recent = true
			continue
		}
		if !slices.ContainsFunc(out, func(g string) bool { return strings.EqualFold(f, g) }) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToUpper(a), strings.ToUpper(b)) })
	return out, recent
}

// hasFlag tells whether flags hold f (case-insensitively).
func hasFlag(flags []string, f string) bool {
	return slices.ContainsFunc(flags, func(g string) bool { return strings.EqualFold(f, g) })
}

// applyStore is flags after STORE op (FLAGS, +FLAGS, -FLAGS) of arg.
func applyStore(flags []string, op string, arg []string) []string {
	var out []string
	switch op {
	case "FLAGS":
		out = slices.Clone(arg)
	case "+FLAGS":
		out = append(slices.Clone(flags), arg...)
	case "-FLAGS":
		for _, f := range flags {
			if !hasFlag(arg, f) {
				out = append(out, f)
			}
		}
	}
	out, _ = normFlags(out)
	return out
}

// privateBox is what a load client knows of its private mailbox
// between sessions: nobody else touches it, so the next session's
// SELECT, and every STATUS, must match it exactly.
type privateBox struct {
	name    string
	created bool
	// known: msgs, uidValidity and uidNext hold the server's state;
	// false after a session ended in the middle of changing it.
	known       bool
	uidValidity uint32
	uidNext     uint32
	nextExact   bool // uidNext was reported, not just inferred
	msgs        []message
	// recent counts the messages added since the last SELECT: the next
	// SELECT's RECENT, and its last messages' \Recent.
	recent int
}

// add records messages given to the private mailbox by APPEND, COPY or
// MOVE from another mailbox.
func (p *privateBox) add(uidValidity uint32, uids []uint32) {
	if p.uidValidity != 0 && uidValidity != p.uidValidity {
		p.known = false
	}
	for _, u := range uids {
		p.msgs = append(p.msgs, message{uid: u, recent: 1})
		if p.recent >= 0 {
			p.recent++
		}
		p.uidNext = max(p.uidNext, u+1)
	}
	p.nextExact = false
}

// recentClaims records which session each message was \Recent in: RFC
// 3501 gives the recent flag to exactly one session.
type recentClaims struct {
	mu sync.Mutex
	m  map[string]int
}

// claim records that session saw mailbox's uid as \Recent and returns
// the session that saw it before, if any other.
func (c *recentClaims) claim(mailbox string, uidValidity, uid uint32, session int) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", mailbox, uidValidity, uid)
	if s, ok := c.m[key]; ok && s != session {
		return s, true
	}
	c.m[key] = session
	return 0, false
}
