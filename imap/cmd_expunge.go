package imap

import "github.com/yubinmail/yubin/store"

// EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 4315 2.1).
func (c *conn) cmdExpunge(tag string, uid bool) error {
	var set store.UIDSet
	if uid {
		if err := c.r.sp(); err != nil {
			return err
		}
		var err error
		if set, err = c.setArg(true); err != nil {
			return err
		}
		if set.Empty() {
			return c.r.crlf()
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if c.sel.readOnly {
		return no("", "Mailbox is read-only.")
	}
	if c.sel.rights&RightExpunge == 0 {
		return nil // as Dovecot: no error, nothing expunged
	}
	gone, err := c.sel.mb.Expunge(c.ctx(), set)
	if err != nil {
		return err
	}
	c.lo.counts.expunged += len(gone)
	c.writeExpunges(gone)
	// A \Recent message expunged changes the count (RFC 3501 7.3.2),
	// which Dovecot reports after the EXPUNGE responses.
	c.announceRecent()
	return c.w.err
}
