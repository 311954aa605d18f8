package imap

import (
	"time"

	"github.com/yubinmail/yubin/store"
)

// byeInconsistent is Dovecot's BYE text when the selected mailbox was
// deleted or its UIDVALIDITY changed under the session.
const byeInconsistent = "IMAP session state is inconsistent, please relogin."

// sendUpdates polls the selected mailbox and tells the client what
// other sessions and processes changed: EXPUNGE (or VANISHED with
// QRESYNC), EXISTS, and FETCH FLAGS. It returns false when the session
// must end (the mailbox went away, or writing failed).
func (c *conn) sendUpdates() bool {
	sel := c.sel
	if sel == nil {
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
	exists := sel.view.count()
	var expunged []uint32
	flush := func() {
		if len(expunged) > 0 {
			c.writeExpunges(expunged)
			expunged = expunged[:0]
			exists = sel.view.count()
		}
	}
	for i := range changes {
		ch := &changes[i]
		switch ch.Kind {
		case store.ChangeNew:
			flush()
			sel.view.add(ch.UID)
		case store.ChangeFlags:
			if sel.view.count() != exists {
				exists = sel.view.count()
				c.w.str("* ")
				c.w.num(exists)
				c.w.str(" EXISTS\r\n")
			}
			flush()
			if seq := sel.view.seqOf(ch.UID); seq != 0 {
				c.writeFlagsFetch(seq, &ch.Message, true)
			}
		case store.ChangeExpunge:
			if sel.view.count() != exists {
				exists = sel.view.count()
				c.w.str("* ")
				c.w.num(exists)
				c.w.str(" EXISTS\r\n")
			}
			expunged = append(expunged, ch.UID)
		case store.ChangeUIDValidity, store.ChangeDeleted:
			// Dovecot 2.3 disconnects with this text whether or not
			// QRESYNC or IMAP4rev2 is on (RFC 9051 leaves the choice to
			// the server; a NO [CLOSED] would need every client to cope
			// with an unannounced return to the authenticated state).
			c.bye(byeInconsistent)
			return false
		}
	}
	flush()
	if sel.view.count() != exists {
		c.w.str("* ")
		c.w.num(sel.view.count())
		c.w.str(" EXISTS\r\n")
	}
	return c.w.err == nil
}

// writeExpunges removes uids (ascending) from the view and reports them:
// "* n EXPUNGE" each, or one "* VANISHED" with QRESYNC (RFC 7162 3.2.10).
func (c *conn) writeExpunges(uids []uint32) {
	sel := c.sel
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
	c.w.str(" FETCH (FLAGS ")
	c.w.flagList(c.flagNames(m.Flags, m.Recent))
	if withUID {
		c.w.str(" UID ")
		c.w.num(m.UID)
	}
	if c.condstore && m.ModSeq > 0 {
		c.w.str(" MODSEQ (")
		c.w.num64(m.ModSeq)
		c.w.byte(')')
	}
	c.w.str(")\r\n")
}

// flagNames lists a message's flags as the client sees them; \Recent
// only for IMAP4rev1 clients (RFC 9051 removed it).
func (c *conn) flagNames(f store.Flags, recent bool) []string {
	names := f.System.Names()
	names = append(names, f.Keywords...)
	if recent && !c.rev2 {
		names = append(names, `\Recent`)
	}
	return names
}

// pollInterval is how often IDLE polls even without a notification.
func (c *conn) pollInterval() time.Duration {
	return durOr(c.srv.PollInterval, 30*time.Second)
}
