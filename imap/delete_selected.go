package imap

// DELETE of the selected mailbox, as Dovecot 2.3 does it: the mailbox
// is closed and deleted, the command is answered, and the session ends
// with a BYE, whether the deletion succeeded or not (a client cannot
// stay in a mailbox that is gone).

// leaveDeletedMailbox closes the selected mailbox before DELETE removes
// it and marks the session to end after the tagged response.
func (c *conn) leaveDeletedMailbox() {
	c.unselect()
	c.byeAfter = "Selected mailbox was deleted, have to disconnect."
}

// afterTagged flushes a tagged response and reports whether the session
// goes on: not after LOGOUT, nor after a DELETE of the selected mailbox
// (which says BYE first).
func (c *conn) afterTagged() bool {
	if c.byeAfter != "" {
		c.bye(c.byeAfter)
		return false
	}
	return c.w.flush() == nil && c.state != stateLogout
}
