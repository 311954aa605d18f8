package imap

import (
	"sort"
	"time"

	"github.com/yubinmail/yubin/store"
)

// byeInconsistent is Dovecot's BYE text when the selected mailbox was
// deleted or its UIDVALIDITY changed under the session.
const byeInconsistent = "IMAP session state is inconsistent, please relogin."

// sendUpdates polls the selected mailbox and tells the client what
// other sessions and processes changed, in the order Dovecot uses:
// FLAGS (and PERMANENTFLAGS) for keywords the client has not seen, one
// FETCH FLAGS per known message whose flags changed (its latest state),
// EXPUNGE (or VANISHED with QRESYNC), then EXISTS and RECENT for new
// messages. It
// returns false when the session must end (the mailbox went away, or
// writing failed).
func (c *conn) sendUpdates() bool {
	sel := c.sel
	if sel == nil {
		return true
	}
	ev, ok := c.selectedEvents()
	if !ok {
		// NOTIFY without the selected mailbox: nothing unsolicited
		// about it (RFC 5465 3, as Dovecot); the view stays as the
		// client knows it.
		return true
	}
	changes, err := sel.mb.Poll(c.ctx())
	if err != nil {
		c.log.Warn("imap: poll failed", "err", err)
		return true
	}
	if len(changes) == 0 {
		return true
	}
	var expunged []uint32
	gone := map[uint32]bool{}
	lastFlags := map[uint32]int{} // UID -> index of its last flag change
	for i := range changes {
		ch := &changes[i]
		switch ch.Kind {
		case store.ChangeFlags:
			lastFlags[ch.UID] = i
		case store.ChangeExpunge:
			expunged = append(expunged, ch.UID)
			gone[ch.UID] = true
		case store.ChangeUIDValidity, store.ChangeDeleted:
			// Dovecot 2.3 disconnects with this text whether or not
			// QRESYNC or IMAP4rev2 is on (RFC 9051 leaves the choice to
			// the server; a NO [CLOSED] would need every client to cope
			// with an unannounced return to the authenticated state).
			c.bye(byeInconsistent)
			return false
		}
	}
	// Keywords first, for the FETCH responses and new messages below.
	var kws []string
	for i := range changes {
		ch := &changes[i]
		if gone[ch.UID] {
			continue
		}
		if ch.Kind == store.ChangeNew || ch.Kind == store.ChangeFlags && lastFlags[ch.UID] == i {
			kws = append(kws, ch.Message.Flags.Keywords...)
		}
	}
	c.announceKeywords(kws)
	// Flag changes of messages the client knows, with the sequence
	// numbers it knows (new messages are not in the view yet).
	for i := range changes {
		ch := &changes[i]
		if ch.Kind != store.ChangeFlags || lastFlags[ch.UID] != i || gone[ch.UID] || ev != nil && !ev.flagChange {
			continue
		}
		if seq := sel.view.seqOf(ch.UID); seq != 0 {
			c.writeFlagsFetch(seq, &ch.Message, true)
		}
	}
	if len(expunged) > 0 {
		if len(sel.contexts) > 0 {
			// REMOVEFROM in the sequence numbers before the expunges.
			c.updateSearchContexts()
		}
		sort.Slice(expunged, func(i, j int) bool { return expunged[i] < expunged[j] })
		c.writeExpunges(expunged)
	}
	var added []uint32
	for i := range changes {
		ch := &changes[i]
		if ch.Kind != store.ChangeNew || gone[ch.UID] || !sel.view.add(ch.UID) {
			continue
		}
		added = append(added, ch.UID)
		if ch.Message.Recent {
			sel.notes.addRecent(ch.UID)
		}
	}
	if len(added) > 0 {
		c.w.str("* ")
		c.w.num(sel.view.count())
		c.w.str(" EXISTS\r\n")
	}
	c.announceRecent()
	if len(sel.contexts) > 0 {
		c.updateSearchContexts()
	}
	if ev != nil {
		c.writeNewFetch(ev.fetch, added)
	}
	return c.w.err == nil
}

// writeExpunges removes uids (ascending) from the view and reports them:
// "* n EXPUNGE" each, or one "* VANISHED" with QRESYNC (RFC 7162 3.2.10).
func (c *conn) writeExpunges(uids []uint32) {
	sel := c.sel
	c.dropFromSearchContexts(uids)
	for _, u := range uids {
		sel.notes.dropRecent(u)
	}
	if c.qresync {
		set := sel.view.present(uids)
		sel.view.expunge(uids)
		if len(set) > 0 {
			c.w.str("* VANISHED " + set.String() + "\r\n")
		}
		return
	}
	for _, seq := range sel.view.expunge(uids) {
		c.w.str("* ")
		c.w.num(seq)
		c.w.str(" EXPUNGE\r\n")
	}
}

// writeFlagsFetch writes "* seq FETCH (FLAGS (...) UID n [MODSEQ (m)])".
func (c *conn) writeFlagsFetch(seq uint32, m *store.MessageInfo, withUID bool) {
	c.w.str("* ")
	c.w.num(seq)
	c.w.str(" FETCH (")
	if withUID {
		c.w.str("UID ")
		c.w.num(m.UID)
		c.w.byte(' ')
	}
	c.w.str("FLAGS ")
	c.writeFlags(m.Flags, m.Recent)
	if c.condstore && m.ModSeq > 0 {
		c.w.str(" MODSEQ (")
		c.w.num64(m.ModSeq)
		c.w.byte(')')
	}
	c.w.str(")\r\n")
}

// writeFlags writes a message's flag list as the client sees it,
// without building a slice (FETCH FLAGS of a whole mailbox passes here
// per message); \Recent only for IMAP4rev1 clients (RFC 9051 removed
// it).
func (c *conn) writeFlags(f store.Flags, recent bool) {
	w := c.w
	w.byte('(')
	n := 0
	sep := func() {
		if n > 0 {
			w.byte(' ')
		}
		n++
	}
	for _, sf := range [...]struct {
		f    store.SystemFlags
		name string
	}{{store.Answered, `\Answered`}, {store.Flagged, `\Flagged`}, {store.Deleted, `\Deleted`}, {store.Seen, `\Seen`}, {store.Draft, `\Draft`}} {
		if f.System&sf.f != 0 {
			sep()
			w.str(sf.name)
		}
	}
	for _, k := range f.Keywords {
		sep()
		w.str(k)
	}
	if recent && !c.rev2 {
		sep()
		w.str(`\Recent`)
	}
	w.byte(')')
}

// pollInterval is how often IDLE polls even without a notification.
func (c *conn) pollInterval() time.Duration {
	return durOr(c.srv.PollInterval, 30*time.Second)
}
