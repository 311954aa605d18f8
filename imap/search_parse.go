package imap

import (
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// searchKey is one node of a parsed SEARCH criteria tree (RFC 9051
// 6.4.4).
type searchKey struct {
	op       string // ALL, flag keys, NOT, OR, AND, UID, SEQ, dates, sizes, content keys...
	children []*searchKey
	str      string // string argument (or header field name for HEADER)
	str2     string // HEADER's value
	num      uint64 // LARGER/SMALLER/MODSEQ/OLDER/YOUNGER
	date     time.Time
	set      numSet
	uids     store.UIDSet // set resolved to UIDs (op UIDSET)
	flag     store.SystemFlags
}

// maxSearchDepth bounds nesting of NOT/OR/parentheses.
const maxSearchDepth = 100

// searchProgram parses search keys up to the end of the line: an implicit
// AND of each key.
func (c *conn) searchKeys(first string) (*searchKey, error) {
	root := &searchKey{op: "AND"}
	for {
		var k *searchKey
		var err error
		if first != "" {
			k, err = c.searchKeyAtom(0, first)
			first = ""
		} else {
			k, err = c.searchKey(0)
		}
		if err != nil {
			return nil, err
		}
		root.children = append(root.children, k)
		if len(root.children) > 1000 {
			return nil, badf("Too many search keys.")
		}
		eol, err := c.r.atEOL()
		if err != nil {
			return nil, err
		}
		if eol {
			return root, nil
		}
		if err := c.r.sp(); err != nil {
			return nil, err
		}
	}
}

var flagKeys = map[string]struct {
	f   store.SystemFlags
	not bool
}{
	"ANSWERED": {store.Answered, false}, "DELETED": {store.Deleted, false}, "DRAFT": {store.Draft, false},
	"FLAGGED": {store.Flagged, false}, "SEEN": {store.Seen, false},
	"UNANSWERED": {store.Answered, true}, "UNDELETED": {store.Deleted, true}, "UNDRAFT": {store.Draft, true},
	"UNFLAGGED": {store.Flagged, true}, "UNSEEN": {store.Seen, true},
}

func (c *conn) searchKey(depth int) (*searchKey, error) {
	if depth > maxSearchDepth {
		return nil, badf("Search keys nested too deeply.")
	}
	b, err := c.r.peek()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		k := &searchKey{op: "AND"}
		err := c.r.list(func() error {
			for {
				child, err := c.searchKey(depth + 1)
				if err != nil {
					return err
				}
				k.children = append(k.children, child)
				if len(k.children) > 1000 {
					return badf("Too many search keys.")
				}
				nb, err := c.r.peek()
				if err != nil {
					return err
				}
				if nb != ' ' {
					return nil
				}
				c.r.readByte()
			}
		})
		if len(k.children) == 0 && err == nil {
			err = badf("Empty search key list.")
		}
		return k, err
	}
	if b >= '0' && b <= '9' || b == '*' || b == '$' {
		set, err := c.r.seqSet()
		return &searchKey{op: "SEQ", set: set}, err
	}
	a, err := c.r.atom()
	if err != nil {
		return nil, err
	}
	return c.searchKeyAtom(depth, a)
}

// searchKeyAtom parses the key that starts with the atom a (already read).
func (c *conn) searchKeyAtom(depth int, a string) (*searchKey, error) {
	var err error
	op := strings.ToUpper(a)
	k := &searchKey{op: op}
	if fk, ok := flagKeys[op]; ok {
		k.op, k.flag = "FLAG", fk.f
		if fk.not {
			return &searchKey{op: "NOT", children: []*searchKey{k}}, nil
		}
		return k, nil
	}
	arg := func() error { return c.r.sp() }
	switch op {
	case "ALL", "NEW", "OLD", "RECENT", "SAVEDATESUPPORTED":
		return k, nil
	case "NOT":
		if err := arg(); err != nil {
			return nil, err
		}
		child, err := c.searchKey(depth + 1)
		k.children = []*searchKey{child}
		return k, err
	case "OR":
		for i := 0; i < 2; i++ {
			if err := arg(); err != nil {
				return nil, err
			}
			child, err := c.searchKey(depth + 1)
			if err != nil {
				return nil, err
			}
			k.children = append(k.children, child)
		}
		return k, nil
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO", "KEYWORD", "UNKEYWORD", "EMAILID", "THREADID":
		if err := arg(); err != nil {
			return nil, err
		}
		k.str, err = c.r.astring()
		return k, err
	case "HEADER":
		if err := arg(); err != nil {
			return nil, err
		}
		if k.str, err = c.r.astring(); err != nil {
			return nil, err
		}
		if err := arg(); err != nil {
			return nil, err
		}
		k.str2, err = c.r.astring()
		return k, err
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		if err := arg(); err != nil {
			return nil, err
		}
		s, err := c.r.astring()
		if err != nil {
			return nil, err
		}
		k.date, err = time.Parse("_2-Jan-2006", strings.TrimSpace(s))
		if err != nil {
			return nil, badf("Invalid search date.")
		}
		return k, nil
	case "LARGER", "SMALLER", "OLDER", "YOUNGER":
		if err := arg(); err != nil {
			return nil, err
		}
		k.num, err = c.r.number64()
		if err == nil && k.num == 0 && (op == "OLDER" || op == "YOUNGER") {
			// RFC 5032: an nz-number of seconds.
			err = badf("Invalid interval.")
		}
		return k, err
	case "UID":
		if err := arg(); err != nil {
			return nil, err
		}
		k.set, err = c.r.seqSet()
		return k, err
	case "MODSEQ":
		c.enableCondstore()
		if err := arg(); err != nil {
			return nil, err
		}
		if nb, err := c.r.peek(); err != nil {
			return nil, err
		} else if nb == '"' {
			// entry-name and entry-type-req: per-flag modseqs are not
			// kept, so they are read and ignored.
			if _, err := c.r.quoted(); err != nil {
				return nil, err
			}
			if err := arg(); err != nil {
				return nil, err
			}
			if _, err := c.r.atom(); err != nil {
				return nil, err
			}
			if err := arg(); err != nil {
				return nil, err
			}
		}
		k.num, err = c.r.number64()
		return k, err
	}
	return nil, badf("Unknown search key " + strings.ToUpper(a) + ".")
}

// usesModSeq reports whether k has a MODSEQ key (RFC 7162 3.1.5).
func (k *searchKey) usesModSeq() bool {
	if k.op == "MODSEQ" {
		return true
	}
	for _, ch := range k.children {
		if ch.usesModSeq() {
			return true
		}
	}
	return false
}
