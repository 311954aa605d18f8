package imap

import (
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// What the session has told the client about the selected mailbox
// beyond its messages: which messages are \Recent in this session and
// which keywords the last FLAGS response named.
//
// \Recent (RFC 3501 2.3.2) is held by exactly one session: the store
// marks a message recent in the handle that first saw it (Dovecot's
// semantics), and the session keeps the UIDs so it can count them as
// messages come and go. IMAP4rev2 sessions are never told (RFC 9051
// removed \Recent).
//
// Keywords: a client may only see keywords in a FETCH that the last
// FLAGS response listed (RFC 3501 7.2.6), so a keyword new to the
// session is announced with FLAGS and PERMANENTFLAGS first, whoever set
// it (this session, another, or another program on the same store).

// maxAnnouncedKeywords bounds the keywords a session tracks and lists in
// FLAGS; beyond it new keywords are no longer announced (clients see
// them through \* in PERMANENTFLAGS).
const maxAnnouncedKeywords = 1000

// mailboxNotes is the per-selection state of the announcements.
type mailboxNotes struct {
	// recent are the UIDs \Recent in this session, ascending.
	recent []uint32
	// recentSent is the count in the last "* n RECENT".
	recentSent int
	// keywords holds the keywords of the last FLAGS response by lower
	// case name and by each spelling met, and kwOrder them in the order
	// they were announced.
	keywords map[string]struct{}
	kwOrder  []string
}

// addRecent records uid as \Recent in this session.
func (n *mailboxNotes) addRecent(uid uint32) {
	i := sort.Search(len(n.recent), func(i int) bool { return n.recent[i] >= uid })
	if i < len(n.recent) && n.recent[i] == uid {
		return
	}
	n.recent = append(n.recent, 0)
	copy(n.recent[i+1:], n.recent[i:])
	n.recent[i] = uid
}

// dropRecent forgets uid (expunged).
func (n *mailboxNotes) dropRecent(uid uint32) {
	i := sort.Search(len(n.recent), func(i int) bool { return n.recent[i] >= uid })
	if i < len(n.recent) && n.recent[i] == uid {
		n.recent = append(n.recent[:i], n.recent[i+1:]...)
	}
}

// isRecent reports whether uid is \Recent in this session.
func (n *mailboxNotes) isRecent(uid uint32) bool {
	i := sort.Search(len(n.recent), func(i int) bool { return n.recent[i] >= uid })
	return i < len(n.recent) && n.recent[i] == uid
}

// knowKeyword adds kw to the announced set; it reports whether it was
// new (and there was room for it).
func (n *mailboxNotes) knowKeyword(kw string) bool {
	if _, ok := n.keywords[kw]; ok {
		// Seen in this spelling before: no case folding (FETCH FLAGS of
		// every message passes here).
		return false
	}
	lk := strings.ToLower(kw)
	if _, ok := n.keywords[lk]; ok {
		if len(n.keywords) < 2*maxAnnouncedKeywords {
			n.keywords[kw] = struct{}{}
		}
		return false
	}
	if len(n.kwOrder) >= maxAnnouncedKeywords {
		return false
	}
	if n.keywords == nil {
		n.keywords = map[string]struct{}{}
	}
	n.keywords[lk] = struct{}{}
	n.keywords[kw] = struct{}{}
	n.kwOrder = append(n.kwOrder, kw)
	return true
}

// flagsList is the FLAGS response's list: the system flags and the
// announced keywords.
func (n *mailboxNotes) flagsList() []string {
	flags := []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}
	return append(flags, n.kwOrder...)
}

// writeFlagsResponses writes "* FLAGS" and the PERMANENTFLAGS response.
func (c *conn) writeFlagsResponses(readOnly bool) {
	flags := c.sel.notes.flagsList()
	c.w.str("* FLAGS ")
	c.w.flagList(flags)
	c.w.crlf()
	perm := c.permanentFlags(flags)
	if readOnly || perm == nil {
		c.untaggedOK("PERMANENTFLAGS ()", "Read-only mailbox.")
		return
	}
	c.w.str("* OK [PERMANENTFLAGS ")
	c.w.flagList(perm)
	c.w.str("] Flags permitted.\r\n")
}

// announceKeywords sends FLAGS and PERMANENTFLAGS (once) when the lists
// hold a keyword the client has not been told about.
func (c *conn) announceKeywords(lists ...[]string) {
	if c.sel == nil {
		return
	}
	grew := false
	for _, kws := range lists {
		for _, k := range kws {
			grew = c.sel.notes.knowKeyword(k) || grew
		}
	}
	if grew {
		c.writeFlagsResponses(c.sel.readOnly)
	}
}

// announceRecent sends "* n RECENT" to an IMAP4rev1 client when the
// count of its \Recent messages changed since it was last told.
func (c *conn) announceRecent() {
	n := &c.sel.notes
	if c.rev2 || len(n.recent) == n.recentSent {
		return
	}
	n.recentSent = len(n.recent)
	c.w.str("* ")
	c.w.num(uint32(n.recentSent))
	c.w.str(" RECENT\r\n")
}

// learnOwnMessages adds messages this session's own APPEND, COPY or MOVE
// put into the selected mailbox to the view and reports them: EXISTS,
// RECENT, and FLAGS for keywords they bring.
func (c *conn) learnOwnMessages(uids []uint32) {
	sel := c.sel
	grew := false
	for _, u := range uids {
		grew = sel.view.add(u) || grew
	}
	if !grew {
		return
	}
	var kws []string
	sel.mb.Messages(c.ctx(), store.UIDSetOf(uids...), func(m *store.MessageInfo) error {
		if m.Recent {
			sel.notes.addRecent(m.UID)
		}
		kws = append(kws, m.Flags.Keywords...)
		return nil
	})
	c.announceKeywords(kws)
	c.w.str("* ")
	c.w.num(sel.view.count())
	c.w.str(" EXISTS\r\n")
	c.announceRecent()
}

// enableCondstore turns CONDSTORE on for a command that uses
// mod-sequences (RFC 7162 3.1): the first such command in the selected
// state is answered with the mailbox's HIGHESTMODSEQ too (3.1.2).
func (c *conn) enableCondstore() {
	if c.condstore {
		return
	}
	c.condstore = true
	if c.sel == nil {
		return
	}
	st, err := c.sel.mb.Status(c.ctx())
	if err != nil {
		return
	}
	c.untaggedOK("HIGHESTMODSEQ "+itoa64(st.HighestModSeq), "Highest")
}
