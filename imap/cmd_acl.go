package imap

import "strings"

// The ACL commands (RFC 4314 3), answered as Dovecot 2.3's imap_acl
// plugin answers them with acl = vfile for a user's own mailboxes:
// "anyone" and "authenticated" may not be set (acl_anyone = forbid),
// "#" (Dovecot's global ACLs) may not be changed, and the owner cannot
// take the admin right from itself.

// aclArgs reads the arguments of an ACL command: the mailbox, then n-1
// more astrings, then CRLF.
func (c *conn) aclArgs(n int) (name, display string, args []string, err error) {
	if c.srv.ACL == nil {
		return "", "", nil, badf("Unknown command.")
	}
	if err := c.r.sp(); err != nil {
		return "", "", nil, err
	}
	if name, err = c.mailboxArg(); err != nil && err != errTildeName {
		return "", "", nil, err
	}
	nameErr := err
	for i := 1; i < n; i++ {
		if err := c.r.sp(); err != nil {
			return "", "", nil, err
		}
		a, err := c.r.astring()
		if err != nil {
			return "", "", nil, err
		}
		args = append(args, a)
	}
	if err := c.r.crlf(); err != nil {
		return "", "", nil, err
	}
	return name, name, args, nameErr
}

// writeAString writes s as an atom where it can be one, else quoted
// (Dovecot's imap_append_astring).
func (c *conn) writeAString(s string) {
	atom := s != "" && !strings.EqualFold(s, "NIL")
	for i := 0; i < len(s) && atom; i++ {
		atom = isAtomChar(s[i])
	}
	if atom {
		c.w.str(s)
		return
	}
	c.w.quoted(s)
}

// myRightsOn is the session user's rights on a mailbox (its own, or a
// shared one's owner's list).
func (c *conn) myRightsOn(name string) (Rights, error) {
	owner, local := c.aclTarget(name)
	entries, err := c.srv.ACL.MailboxACL(c.ctx(), owner, local)
	if err != nil {
		return 0, err
	}
	return myRightsAs(entries, owner, c.user), nil
}

// checkACLOpen refuses SELECT, EXAMINE and STATUS of a mailbox whose
// rights lack "r" (RFC 4314 4): NOPERM, or that it does not exist when
// "l" is missing too.
func (c *conn) checkACLOpen(name string) error {
	if c.srv.ACL == nil {
		return nil
	}
	r, err := c.myRightsOn(name)
	if err != nil {
		return err
	}
	switch {
	case r&RightRead != 0:
		// "r" alone opens the mailbox, as in Dovecot's
		// acl_mailbox_open_check_acl.
		return nil
	case r&RightLookup == 0:
		return no("", "Mailbox doesn't exist: "+name)
	}
	return no("NOPERM", "Permission denied.")
}

// aclAdmin checks that the mailbox exists and the user may administer
// it: a mailbox the user cannot see does not exist.
func (c *conn) aclAdmin(name string) ([]ACLEntry, error) {
	if _, err := c.st.Status(c.ctx(), name); err != nil {
		return nil, no("NONEXISTENT", "Mailbox doesn't exist: "+name)
	}
	owner, local := c.aclTarget(name)
	entries, err := c.srv.ACL.MailboxACL(c.ctx(), owner, local)
	if err != nil {
		return nil, err
	}
	r := myRightsAs(entries, owner, c.user)
	switch {
	case r&RightAdmin != 0:
		return entries, nil
	case r&RightLookup == 0:
		return nil, no("NONEXISTENT", "Mailbox doesn't exist: "+name)
	}
	return nil, no("NOPERM", "You lack administrator privileges on this mailbox.")
}

// MYRIGHTS (RFC 4314 3.5).
func (c *conn) cmdMyRights(tag string, _ bool) error {
	name, display, _, err := c.aclArgs(1)
	if err != nil {
		return err
	}
	r, err := c.myRightsOn(name)
	if err != nil {
		return err
	}
	// The post right alone does not tell whether the mailbox exists.
	if r == 0 || r == RightPost {
		return no("NONEXISTENT", "Mailbox doesn't exist: "+display)
	}
	c.w.str("* MYRIGHTS ")
	c.writeMetadataMailbox(display)
	c.w.str(" " + r.String() + "\r\n")
	return c.w.err
}

// LISTRIGHTS (RFC 4314 3.4): every right may be given alone, none is
// always given.
func (c *conn) cmdListRights(tag string, _ bool) error {
	_, display, args, err := c.aclArgs(2)
	if err != nil {
		return err
	}
	c.w.str("* LISTRIGHTS ")
	c.writeMetadataMailbox(display)
	c.w.byte(' ')
	c.writeAString(args[0])
	c.w.str(` "" l r w s t p i e k x a c d` + "\r\n")
	return c.w.err
}

// GETACL (RFC 4314 3.3). The owner's default rights are listed when no
// entry gives the owner rights; an "owner" entry is listed under the
// user's name unless the user's name has an entry of its own.
func (c *conn) cmdGetACL(tag string, _ bool) error {
	name, display, _, err := c.aclArgs(1)
	if err != nil {
		return err
	}
	entries, err := c.aclAdmin(name)
	if err != nil {
		return err
	}
	sortACL(entries)
	c.w.str("* ACL ")
	c.writeMetadataMailbox(display)
	owner, _ := c.aclTarget(name)
	c.writeACLEntries(entries, owner, true)
	c.w.crlf()
	return c.w.err
}

// writeACLEntries writes GETACL's identifier-rights pairs.
func (c *conn) writeACLEntries(entries []ACLEntry, owner string, convert bool) {
	seenOwner, seenPositive := false, false
	if convert {
		// "owner" and the user's own name both present: both are
		// listed as they are.
		for _, e := range entries {
			if aclIsOwner(e.Identifier, owner) {
				if seenOwner {
					c.writeACLEntries(entries, owner, false)
					return
				}
				seenOwner = true
			}
		}
	}
	write := func(id string, r Rights, order string) {
		c.w.byte(' ')
		c.writeAString(id)
		c.w.byte(' ')
		if l := r.letters(order); l != "" {
			c.w.str(l)
		} else {
			c.w.str(`""`)
		}
	}
	for _, e := range entries {
		id := e.Identifier
		if aclIsOwner(id, owner) {
			if id == "owner" && convert {
				id = owner
			}
			seenPositive = seenPositive || e.HasRights
		}
		if e.HasRights {
			write(id, e.Rights, rightNameOrder)
		}
		if e.HasNegative {
			write("-"+id, e.Negative, rightNameOrder)
		}
	}
	if !seenPositive {
		id := "owner"
		if convert {
			id = owner
		}
		write(id, AllRights, rightLetters)
	}
}

// aclIdentifier checks a SETACL or DELETEACL identifier (without its
// "-"): global entries are Dovecot's configuration, and "anyone" and
// "authenticated" are refused for SETACL as Dovecot refuses them unless
// acl_anyone = allow.
func aclIdentifier(id string, forSet bool) error {
	if strings.HasPrefix(id, "#") {
		return badf("Global ACLs can't be modified: " + id)
	}
	if forSet && (id == "anyone" || id == "authenticated") {
		return badf("'" + id + "' identifier is disallowed")
	}
	if id == "" || id == "$" || id == "!$" || len(id) > 255 || strings.ContainsAny(id, " \t\r\n\x00") {
		return badf("Invalid identifier.")
	}
	return nil
}

// aclModify is how SETACL changes a set: replace, "+" add, "-" remove.
type aclModify int

const (
	aclReplace aclModify = iota
	aclAdd
	aclRemove
	aclClear // DELETEACL
)

func (m aclModify) apply(have Rights, present bool, r Rights) (Rights, bool) {
	switch m {
	case aclReplace:
		return r, true
	case aclAdd:
		return have | r, true
	case aclRemove:
		return have &^ r, present
	}
	return 0, false
}

// SETACL (RFC 4314 3.1).
func (c *conn) cmdSetACL(tag string, _ bool) error {
	name, _, args, err := c.aclArgs(3)
	if err != nil {
		return err
	}
	id, letters := args[0], args[1]
	if id == "" {
		return badf("Invalid arguments.")
	}
	neg := strings.HasPrefix(id, "-")
	id = strings.TrimPrefix(id, "-")
	mode := aclReplace
	switch {
	case strings.HasPrefix(letters, "+"):
		mode, letters = aclAdd, letters[1:]
	case strings.HasPrefix(letters, "-"):
		mode, letters = aclRemove, letters[1:]
	}
	if err := aclIdentifier(id, true); err != nil {
		return err
	}
	r, ok := ParseRights(letters)
	if !ok {
		for i := 0; i < len(letters); i++ {
			if _, ok := ParseRights(letters[i : i+1]); !ok {
				return badf("Invalid ACL right: " + letters[i:i+1])
			}
		}
	}
	if _, err := c.aclAdmin(name); err != nil {
		return err
	}
	owner, local := c.aclTarget(name)
	err = c.srv.ACL.UpdateMailboxACL(c.ctx(), owner, local, func(entries []ACLEntry) ([]ACLEntry, error) {
		if !neg && aclIsOwner(id, owner) {
			// The owner keeps the admin right (Dovecot: "make sure
			// client doesn't (accidentally) remove admin privileges
			// from its own mailboxes").
			switch mode {
			case aclAdd:
				if !hasPositiveOwner(entries, owner) {
					r |= AllRights
				}
			case aclRemove:
				r &^= RightAdmin
			case aclReplace:
				r |= RightAdmin
			}
		}
		return updateACL(entries, id, neg, mode, r), nil
	})
	c.refreshSelectedRights(name)
	return err
}

// DELETEACL (RFC 4314 3.2).
func (c *conn) cmdDeleteACL(tag string, _ bool) error {
	name, _, args, err := c.aclArgs(2)
	if err != nil {
		return err
	}
	id := args[0]
	if id == "" {
		return badf("Invalid arguments.")
	}
	neg := strings.HasPrefix(id, "-")
	id = strings.TrimPrefix(id, "-")
	if err := aclIdentifier(id, false); err != nil {
		return err
	}
	if _, err := c.aclAdmin(name); err != nil {
		return err
	}
	owner, local := c.aclTarget(name)
	err = c.srv.ACL.UpdateMailboxACL(c.ctx(), owner, local, func(entries []ACLEntry) ([]ACLEntry, error) {
		return updateACL(entries, id, neg, aclClear, 0), nil
	})
	c.refreshSelectedRights(name)
	return err
}

// updateACL changes the given (or, with neg, the denied) rights of id
// and drops an entry left with neither.
func updateACL(entries []ACLEntry, id string, neg bool, mode aclModify, r Rights) []ACLEntry {
	i := 0
	for i < len(entries) && entries[i].Identifier != id {
		i++
	}
	if i == len(entries) {
		if mode == aclRemove || mode == aclClear {
			return entries
		}
		entries = append(entries, ACLEntry{Identifier: id})
	}
	e := &entries[i]
	if neg {
		e.Negative, e.HasNegative = mode.apply(e.Negative, e.HasNegative, r)
	} else {
		e.Rights, e.HasRights = mode.apply(e.Rights, e.HasRights, r)
	}
	if !e.HasRights && !e.HasNegative {
		entries = append(entries[:i], entries[i+1:]...)
	}
	sortACL(entries)
	return entries
}

// checkACLRight refuses a command on an existing mailbox whose rights
// lack right (RFC 4314 4: "x" for DELETE and RENAME): NOPERM, or that
// the mailbox does not exist when the user may not see it.
func (c *conn) checkACLRight(name string, right Rights) error {
	if c.srv.ACL == nil {
		return nil
	}
	if _, err := c.st.Status(c.ctx(), name); err != nil {
		return nil // the store answers for a missing mailbox
	}
	r, err := c.myRightsOn(name)
	if err != nil {
		return err
	}
	if r&RightLookup == 0 {
		return no("NONEXISTENT", "Mailbox doesn't exist: "+name)
	}
	if r&right == 0 {
		return no("NOPERM", "Permission denied.")
	}
	return nil
}

// checkACLCreate refuses to create a mailbox below one whose rights lack
// "k" (RFC 4314 4), as Dovecot does; top-level names need no right.
func (c *conn) checkACLCreate(name string) error {
	parent := parentName(name)
	if c.srv.ACL == nil {
		return nil
	}
	if owner, local := c.aclTarget(name); owner != c.user && parentName(local) == "" {
		// The top of another user's mailboxes: no "k" there.
		return no("NOPERM", "Permission denied.")
	}
	if parent == "" {
		return nil
	}
	if _, err := c.st.Status(c.ctx(), parent); err != nil {
		return nil
	}
	r, err := c.myRightsOn(parent)
	if err != nil {
		return err
	}
	if r&RightCreate == 0 {
		return no("NOPERM", "Permission denied.")
	}
	return nil
}

// inheritACL gives a new mailbox a copy of its parent's list, as
// Dovecot's vfile ACLs do.
func (c *conn) inheritACL(name string) {
	parent := parentName(name)
	if c.srv.ACL == nil || parent == "" {
		return
	}
	owner, local := c.aclTarget(name)
	pOwner, pLocal := c.aclTarget(parent)
	if pOwner != owner {
		return
	}
	entries, err := c.srv.ACL.MailboxACL(c.ctx(), owner, pLocal)
	if err == nil && len(entries) > 0 {
		err = c.srv.ACL.UpdateMailboxACL(c.ctx(), owner, local, func([]ACLEntry) ([]ACLEntry, error) {
			return append([]ACLEntry(nil), entries...), nil
		})
	}
	if err != nil {
		c.log.Warn("imap: copying the parent's ACL failed", "mailbox", name, "err", err)
	}
}
