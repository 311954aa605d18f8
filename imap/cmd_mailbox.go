package imap

import (
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// CREATE (RFC 9051 6.3.4) with CREATE-SPECIAL-USE (RFC 6154 3).
func (c *conn) cmdCreate(tag string, _ bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	var opts store.CreateOptions
	if sp, err := c.r.maybe(' '); err != nil {
		return err
	} else if sp {
		err := c.r.list(func() error {
			a, err := c.r.atom()
			if err != nil {
				return err
			}
			if !strings.EqualFold(a, "USE") {
				return badf("Unknown CREATE parameter.")
			}
			if err := c.r.sp(); err != nil {
				return err
			}
			return c.r.list(func() error {
				f, err := c.r.flag()
				if err != nil {
					return err
				}
				if opts.SpecialUse != "" {
					return no("USEATTR", "Only one special-use attribute per mailbox.")
				}
				for _, su := range []string{store.SpecialAll, store.SpecialArchive, store.SpecialDrafts,
					store.SpecialFlagged, store.SpecialJunk, store.SpecialSent, store.SpecialTrash} {
					if strings.EqualFold(f, su) {
						opts.SpecialUse = su
					}
				}
				if opts.SpecialUse == "" {
					return no("USEATTR", "Unsupported special-use attribute.")
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if strings.EqualFold(name, store.Inbox) {
		return no("ALREADYEXISTS", "Mailbox already exists.")
	}
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.checkMailboxCount(); err != nil {
		return err
	}
	if err := c.checkACLCreate(name); err != nil {
		return err
	}
	if err := c.st.CreateMailbox(c.ctx(), name, opts); err != nil {
		return err
	}
	c.inheritACL(name)
	return nil
}

// checkMailboxCount refuses a CREATE when the user has MaxMailboxes
// mailboxes already, and logs it.
func (c *conn) checkMailboxCount() error {
	limit := c.srv.maxMailboxes()
	if limit <= 0 {
		return nil
	}
	infos, err := c.st.ListMailboxes(c.ctx())
	if err != nil {
		return err
	}
	if len(infos) < limit {
		return nil
	}
	c.log.Info("imap: CREATE refused: mailbox limit reached", "mailboxes", len(infos), "limit", limit)
	return no("LIMIT", "Mailbox count limit reached (at most "+strconv.Itoa(limit)+" mailboxes).")
}

// DELETE (RFC 9051 6.3.5).
func (c *conn) cmdDelete(tag string, _ bool) error {
	name, err := c.oneMailboxArg()
	if err != nil {
		return err
	}
	if name == store.Inbox {
		return no("CANNOT", "INBOX can't be deleted.")
	}
	if c.sel != nil && c.sel.name == name {
		c.leaveDeletedMailbox()
	}
	if err := c.checkACLRight(name, RightDelete); err != nil {
		return err
	}
	if err := c.st.DeleteMailbox(c.ctx(), name); err != nil {
		return err
	}
	if md := c.srv.Metadata; md != nil {
		// A mailbox's METADATA goes with it (RFC 5464 3.3).
		if err := md.DeleteMetadata(c.ctx(), c.user, name); err != nil {
			c.log.Warn("imap: deleting metadata failed", "mailbox", name, "err", err)
		}
	}
	c.dropURLAuthKeys(name)
	return nil
}

// RENAME (RFC 9051 6.3.6).
func (c *conn) cmdRename(tag string, _ bool) error {
	var from, to string
	err := c.r.sp()
	if err == nil {
		from, err = c.mailboxArg()
	}
	if err == nil {
		err = c.r.sp()
	}
	if err == nil {
		to, err = c.mailboxArg()
	}
	if err == nil {
		err = c.r.crlf()
	}
	if err != nil {
		return err
	}
	if err := checkName(to); err != nil {
		return err
	}
	if to == store.Inbox {
		return no("ALREADYEXISTS", "Mailbox already exists.")
	}
	if err := c.checkACLRight(from, RightDelete); err != nil {
		return err
	}
	if err := c.checkACLCreate(to); err != nil {
		return err
	}
	if err := c.st.RenameMailbox(c.ctx(), from, to); err != nil {
		return err
	}
	if md := c.srv.Metadata; md != nil {
		if err := md.RenameMetadata(c.ctx(), c.user, from, to); err != nil {
			c.log.Warn("imap: renaming metadata failed", "mailbox", from, "err", err)
		}
	}
	c.dropURLAuthKeys(from)
	c.followRename(from, to)
	return nil
}

// followRename keeps the session in the selected mailbox when RENAME
// moved it (it was from or below from): the session reopens it under
// its new name, and keeps its sequence numbers when the UIDVALIDITY is
// the same, telling the client about messages that came or went
// meanwhile. RFC 9051 6.3.6 allows renaming the selected mailbox; Dovecot
// 2.3 answers the RENAME OK and then ends the session ("* BYE IMAP
// session state is inconsistent, please relogin."), which this server
// still does when the mailbox cannot be reopened the same. Renaming
// INBOX moves its messages and leaves INBOX in place, which the session
// learns as expunges, as for any other change.
func (c *conn) followRename(from, to string) {
	sel := c.sel
	if sel == nil || from == store.Inbox {
		return
	}
	var newName string
	switch {
	case sel.name == from:
		newName = to
	case strings.HasPrefix(sel.name, from+"/"):
		newName = to + sel.name[len(from):]
	default:
		return
	}
	mb, err := c.st.OpenMailbox(c.ctx(), newName, store.OpenOptions{ReadOnly: sel.readOnly})
	if err != nil {
		c.log.Warn("imap: reopening the renamed selected mailbox", "mailbox", newName, "err", err)
		return
	}
	st, err := mb.Status(c.ctx())
	if err != nil || st.UIDValidity != sel.uidValidity {
		mb.Close()
		return
	}
	var uids []uint32
	err = mb.Messages(c.ctx(), store.UIDSet{{Start: 1, Stop: 1<<32 - 1}}, func(m *store.MessageInfo) error {
		uids = append(uids, m.UID)
		return nil
	})
	if err != nil {
		mb.Close()
		return
	}
	sel.mb.Close()
	sel.mb, sel.name = mb, newName
	// Messages the session knows that are gone, and new ones.
	present := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		present[u] = true
	}
	var gone []uint32
	for _, u := range sel.view.uids {
		if !present[u] {
			gone = append(gone, u)
		}
	}
	if len(gone) > 0 {
		c.writeExpunges(gone)
	}
	grew := false
	for _, u := range uids {
		grew = sel.view.add(u) || grew
	}
	if grew {
		c.w.str("* ")
		c.w.num(sel.view.count())
		c.w.str(" EXISTS\r\n")
	}
}

// SUBSCRIBE (RFC 9051 6.3.7).
func (c *conn) cmdSubscribe(tag string, _ bool) error {
	name, err := c.oneMailboxArg()
	if err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	return c.st.Subscribe(c.ctx(), name)
}

// UNSUBSCRIBE (RFC 9051 6.3.8).
func (c *conn) cmdUnsubscribe(tag string, _ bool) error {
	name, err := c.oneMailboxArg()
	if err != nil {
		return err
	}
	return c.st.Unsubscribe(c.ctx(), name)
}

func (c *conn) oneMailboxArg() (string, error) {
	if err := c.r.sp(); err != nil {
		return "", err
	}
	name, err := c.mailboxArg()
	if err == nil {
		err = c.r.crlf()
	}
	return name, err
}

// STATUS (RFC 9051 6.3.11) with STATUS=SIZE, CONDSTORE, OBJECTID and
// APPENDLIMIT items.
func (c *conn) cmdStatus(tag string, _ bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	var items []string
	err = c.r.list(func() error {
		a, err := c.r.atom()
		a = strings.ToUpper(a)
		if err == nil && !statusItems[a] {
			err = badf("Unknown STATUS item.")
		}
		items = append(items, a)
		return err
	})
	if err != nil {
		return err
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if err := c.checkACLOpen(name); err != nil {
		return err
	}
	return c.writeStatus(name, items, false)
}

var statusItems = map[string]bool{
	"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true, "DELETED": true,
	"SIZE": true, "RECENT": true, "HIGHESTMODSEQ": true, "MAILBOXID": true, "APPENDLIMIT": true,
}

func (c *conn) writeStatus(name string, items []string, inList bool) error {
	st, err := c.st.Status(c.ctx(), name)
	if err != nil {
		if inList {
			return nil
		}
		return err
	}
	for _, it := range items {
		if it == "HIGHESTMODSEQ" {
			c.enableCondstore()
		}
	}
	c.w.str("* STATUS ")
	c.w.mailbox(name)
	c.w.str(" (")
	for i, it := range items {
		if i > 0 {
			c.w.byte(' ')
		}
		c.w.str(it + " ")
		switch it {
		case "MESSAGES":
			c.w.num(st.Messages)
		case "UIDNEXT":
			c.w.num(st.UIDNext)
		case "UIDVALIDITY":
			c.w.num(st.UIDValidity)
		case "UNSEEN":
			c.w.num(st.Unseen)
		case "DELETED":
			c.w.num(st.Deleted)
		case "SIZE":
			c.w.num64(uint64(st.Size))
		case "RECENT":
			c.w.num(st.Recent)
		case "HIGHESTMODSEQ":
			c.w.num64(st.HighestModSeq)
		case "MAILBOXID":
			c.w.str("(" + mailboxID(st) + ")")
		case "APPENDLIMIT":
			c.w.num64(uint64(c.srv.appendLimitAdvertised()))
		default:
			c.w.str("NIL")
		}
	}
	c.w.str(")\r\n")
	return nil
}
