package imap

import "github.com/yubinmail/yubin/store"

// COPY and UID COPY (RFC 9051 6.4.7) with COPYUID (RFC 4315).
func (c *conn) cmdCopy(tag string, uid bool) error { return c.copyOrMove(uid, false) }

// MOVE and UID MOVE (RFC 6851).
func (c *conn) cmdMove(tag string, uid bool) error { return c.copyOrMove(uid, true) }

func (c *conn) copyOrMove(uid, move bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	set, err := c.setArg(uid)
	if err != nil {
		return err
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	dest, err := c.mailboxArg()
	if err != nil {
		return err
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if move && c.sel.readOnly {
		return no("", "Mailbox is read-only.")
	}
	rights, err := c.insertRights(dest)
	if err != nil {
		return err
	}
	if move && c.sel.rights&RightExpunge == 0 {
		return no("NOPERM", "Permission denied.")
	}
	// Only messages the session knows of: a UID outside its view is no
	// message (and the store reads an empty selection as "all").
	known := store.UIDSet{}
	for _, u := range c.sel.view.uids {
		if set.Contains(u) {
			known.Add(u)
		}
	}
	set = known
	if set.Empty() {
		if _, err := c.st.Status(c.ctx(), dest); err != nil {
			return err
		}
		return nil
	}
	res, err := c.copyMessages(set, dest, rights, move)
	if err != nil {
		return err
	}
	code := ""
	if len(res.SourceUIDs) > 0 && rights&RightRead != 0 {
		code = "COPYUID " + itoa(res.DestUIDValidity) + " " + uidList(res.SourceUIDs) + " " + uidList(res.DestUIDs)
	}
	// Into the selected mailbox, the session announces the new
	// messages itself (its handle's Poll never reports them): EXISTS
	// and RECENT after MOVE's expunges, as Dovecot orders them.
	intoSelected := store.CanonicalName(dest) == c.sel.name
	if code != "" {
		c.countTrashed(dest, len(res.SourceUIDs))
	}
	if move {
		if code != "" {
			c.untaggedOK(code, "Moved UIDs.")
		}
		c.writeExpunges(res.Expunged)
		if intoSelected {
			c.learnOwnMessages(res.DestUIDs)
		} else {
			c.announceRecent()
		}
		c.okText = "Move completed."
		return c.w.err
	}
	if intoSelected {
		c.learnOwnMessages(res.DestUIDs)
	}
	c.okCode = code
	c.okText = "Copy completed."
	c.checkQuotaAlert()
	return nil
}

// uidList formats UIDs in the order given, compressing runs, as COPYUID
// needs (the source and destination lists pair up element by element).
func uidList(uids []uint32) string {
	var b []byte
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, itoa(uids[i])...)
		if j > i {
			b = append(b, ':')
			b = append(b, itoa(uids[j])...)
		}
		i = j + 1
	}
	return string(b)
}
