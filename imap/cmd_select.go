package imap

import (
	"strings"

	"github.com/yubinmail/yubin/store"
)

// SELECT (RFC 9051 6.3.2) with CONDSTORE/QRESYNC parameters (RFC 7162).
func (c *conn) cmdSelect(tag string, _ bool) error { return c.selectMailbox(false) }

// EXAMINE (RFC 9051 6.3.3).
func (c *conn) cmdExamine(tag string, _ bool) error { return c.selectMailbox(true) }

// qresyncParams are SELECT's (QRESYNC (...)) values.
type qresyncParams struct {
	uidValidity uint32
	modSeq      uint64
	known       numSet
	hasKnown    bool
}

func (c *conn) selectMailbox(readOnly bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	name, nameErr := c.mailboxArg()
	if nameErr != nil && nameErr != errTildeName {
		return nameErr
	}
	var qr *qresyncParams
	condstore := false
	if sp, err := c.r.maybe(' '); err != nil {
		return err
	} else if sp {
		err := c.r.list(func() error {
			p, err := c.r.atom()
			if err != nil {
				return err
			}
			switch strings.ToUpper(p) {
			case "CONDSTORE":
				condstore = true
				return nil
			case "QRESYNC":
				if !c.qresync {
					return badf("QRESYNC was not enabled.")
				}
				qr = &qresyncParams{}
				if err := c.r.sp(); err != nil {
					return err
				}
				return c.r.list(func() error { return c.qresyncParam(qr) })
			}
			return badf("Unknown SELECT parameter.")
		})
		if err != nil {
			return err
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	// Leaving the old mailbox: RFC 7162 3.2.11 [CLOSED] when one was open.
	if c.sel != nil {
		c.sel.mb.Close()
		c.sel = nil
		c.state = stateAuth
		// RFC 7162 3.2.11 asks for it with QRESYNC; Dovecot says it
		// to every client, and clients that do not know it ignore it.
		c.untaggedOK("CLOSED", "Previous mailbox closed.")
	}
	if nameErr != nil {
		// A refused name still ends the old selection (RFC 9051 6.3.2).
		return nameErr
	}
	if condstore {
		// SELECT reports HIGHESTMODSEQ itself; like ENABLE, it makes
		// a later ENABLE CONDSTORE a no-op (Dovecot).
		c.condstore, c.condstoreEnabled = true, true
	}
	rights, err := c.openRights(name)
	if err != nil {
		return err
	}
	mb, err := c.st.OpenMailbox(c.ctx(), name, store.OpenOptions{ReadOnly: readOnly})
	if err != nil {
		return err
	}
	sel := &selected{mb: mb, name: mb.Name(), readOnly: readOnly, rights: rights}
	st, err := mb.Status(c.ctx())
	if err != nil {
		mb.Close()
		return err
	}
	var firstUnseen uint32
	sel.view.uids = make([]uint32, 0, st.Messages)
	err = mb.Messages(c.ctx(), nil, func(m *store.MessageInfo) error {
		sel.view.uids = append(sel.view.uids, m.UID)
		if firstUnseen == 0 && m.Flags.System&store.Seen == 0 {
			firstUnseen = uint32(len(sel.view.uids))
		}
		if m.Recent {
			sel.notes.recent = append(sel.notes.recent, m.UID)
		}
		for _, k := range m.Flags.Keywords {
			sel.notes.knowKeyword(k)
		}
		return nil
	})
	if err != nil {
		mb.Close()
		return err
	}
	c.sel = sel
	c.writeFlagsResponses(readOnly)
	c.w.str("* ")
	c.w.num(sel.view.count())
	c.w.str(" EXISTS\r\n")
	if !c.rev2 {
		sel.notes.recentSent = len(sel.notes.recent)
		c.w.str("* ")
		c.w.num(uint32(len(sel.notes.recent)))
		c.w.str(" RECENT\r\n")
		if firstUnseen > 0 {
			c.untaggedOK("UNSEEN "+itoa(firstUnseen), "First unseen.")
		}
	}
	c.untaggedOK("UIDVALIDITY "+itoa(st.UIDValidity), "UIDs valid")
	c.untaggedOK("UIDNEXT "+itoa(st.UIDNext), "Predicted next UID")
	if c.condstore {
		c.untaggedOK("HIGHESTMODSEQ "+itoa64(st.HighestModSeq), "Highest")
	}
	if id := mailboxID(st); id != "" {
		c.untaggedOK("MAILBOXID ("+id+")", "Ok")
	}
	if c.rev2 {
		c.w.str(`* LIST () "/" `)
		c.w.mailbox(sel.name)
		c.w.crlf()
	}
	sel.uidValidity = st.UIDValidity
	c.state = stateSelected
	if qr != nil && qr.uidValidity == st.UIDValidity {
		if err := c.qresyncSelect(qr); err != nil {
			return err
		}
	}
	if readOnly || rights&aclChangeRights == 0 {
		c.okCode = "READ-ONLY"
	} else {
		c.okCode = "READ-WRITE"
	}
	c.okText = "Select completed."
	if readOnly {
		c.okText = "Examine completed."
	}
	return nil
}

// qresyncParam parses "uidvalidity modseq [known-uids [seq-match]]".
func (c *conn) qresyncParam(qr *qresyncParams) error {
	var err error
	if qr.uidValidity, err = c.r.nzNumber(); err != nil {
		return err
	}
	if err = c.r.sp(); err != nil {
		return err
	}
	if qr.modSeq, err = c.r.number64(); err != nil {
		return err
	}
	if sp, err := c.r.maybe(' '); err != nil || !sp {
		return err
	}
	if b, err := c.r.peek(); err != nil {
		return err
	} else if b != '(' {
		if qr.known, err = c.r.seqSet(); err != nil {
			return err
		}
		qr.hasKnown = true
		if sp, err := c.r.maybe(' '); err != nil || !sp {
			return err
		}
	}
	// The sequence match data only helps servers that lack expunge
	// history; it is read and ignored.
	return c.r.list(func() error {
		_, err := c.r.seqSet()
		if err == nil {
			err = c.r.sp()
		}
		if err == nil {
			_, err = c.r.seqSet()
		}
		return err
	})
}

// qresyncSelect sends the VANISHED (EARLIER) and FETCH responses of a
// QRESYNC SELECT (RFC 7162 3.2.5). The store keeps no expunge history,
// so every known UID that no longer exists is reported vanished.
func (c *conn) qresyncSelect(qr *qresyncParams) error {
	sel := c.sel
	known := store.UIDSet{{Start: 1, Stop: ^uint32(0)}}
	if qr.hasKnown {
		known = sel.view.uidSetOf(qr.known)
	}
	if max := sel.view.maxUID(); !qr.hasKnown {
		known = store.UIDSet{{Start: 1, Stop: max}}
		if max == 0 {
			known = store.UIDSet{}
		}
	}
	if gone := sel.view.missingIn(known); len(gone) > 0 {
		c.w.str("* VANISHED (EARLIER) " + gone.String() + "\r\n")
	}
	return sel.mb.Messages(c.ctx(), nil, func(m *store.MessageInfo) error {
		if m.ModSeq <= qr.modSeq {
			return nil
		}
		c.writeFlagsFetch(sel.view.seqOf(m.UID), m, true)
		return c.w.err
	})
}

// CLOSE (RFC 9051 6.4.1): expunge silently unless read-only, then leave.
func (c *conn) cmdClose(tag string, _ bool) error {
	if err := c.r.crlf(); err != nil {
		return err
	}
	if !c.sel.readOnly && c.sel.rights&RightExpunge != 0 {
		gone, err := c.sel.mb.Expunge(c.ctx(), nil)
		if err != nil {
			c.log.Warn("imap: expunge on CLOSE failed", "err", err)
		}
		c.lo.counts.expunged += len(gone)
	}
	c.unselect()
	return nil
}

// UNSELECT (RFC 3691).
func (c *conn) cmdUnselect(tag string, _ bool) error {
	if err := c.r.crlf(); err != nil {
		return err
	}
	c.unselect()
	return nil
}

func (c *conn) unselect() {
	if c.sel != nil {
		c.sel.mb.Close()
		c.sel = nil
	}
	c.state = stateAuth
}
