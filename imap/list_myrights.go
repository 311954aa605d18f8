package imap

// listRights is the user's rights on a LIST entry: all of them without
// Server.ACL or for a name that exists only as a parent.
func (c *conn) listRights(e *listEntry) (Rights, error) {
	if c.srv.ACL == nil || !e.exists || e.info.NoSelect {
		return AllRights, nil
	}
	return c.myRightsOn(e.info.Name)
}

// writeMyRights writes LIST-MYRIGHTS's untagged MYRIGHTS for a listed
// mailbox (RFC 8440 3): after its LIST (and STATUS) response, for
// mailboxes that can be selected.
func (c *conn) writeMyRights(name string, r Rights) {
	c.w.str("* MYRIGHTS ")
	c.w.mailbox(name)
	c.w.str(" " + r.String() + "\r\n")
}
