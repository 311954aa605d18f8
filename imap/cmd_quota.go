package imap

import "strings"

// GETQUOTAROOT (RFC 9208 4.3): every mailbox is under the root "".
func (c *conn) cmdGetQuotaRoot(tag string, _ bool) error {
	name, err := c.oneMailboxArg()
	if err != nil {
		return err
	}
	if _, err := c.st.Status(c.ctx(), name); err != nil {
		return err
	}
	c.w.str("* QUOTAROOT ")
	c.w.mailbox(name)
	c.w.str(` ""` + "\r\n")
	return c.writeQuota()
}

// GETQUOTA (RFC 9208 4.2).
func (c *conn) cmdGetQuota(tag string, _ bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	root, err := c.r.astring()
	if err == nil {
		err = c.r.crlf()
	}
	if err != nil {
		return err
	}
	if root != "" {
		return no("NONEXISTENT", "No such quota root.")
	}
	return c.writeQuota()
}

func (c *conn) writeQuota() error {
	q, err := c.st.Quota(c.ctx())
	if err != nil {
		return err
	}
	var parts []string
	if q.StorageLimit > 0 {
		parts = append(parts, "STORAGE "+itoa64(uint64(q.StorageUsed+1023)/1024)+" "+itoa64(uint64(q.StorageLimit)/1024))
	}
	if q.MessagesLimit > 0 {
		parts = append(parts, "MESSAGE "+itoa64(uint64(q.MessagesUsed))+" "+itoa64(uint64(q.MessagesLimit)))
	}
	if len(parts) > 0 {
		c.w.str(`* QUOTA "" (` + strings.Join(parts, " ") + ")\r\n")
	}
	return nil
}

// SETQUOTA (RFC 9208 4.1): limits come from the user database, not
// from clients.
func (c *conn) cmdSetQuota(tag string, _ bool) error {
	return no("NOPERM", "Quota limits are set by the administrator.")
}
