package imap

import (
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// listOptions are LIST-EXTENDED's selection and return options (RFC 5258,
// RFC 6154, RFC 5819).
type listOptions struct {
	subscribed, recursive, specialUse bool // selection
	retSubscribed, retChildren        bool // return
	retSpecialUse                     bool
	status                            []string
	myRights                          bool // LIST-MYRIGHTS (RFC 8440)
	// extended is set for LIST-EXTENDED syntax (selection or return
	// options): hierarchy-only parents are then \NonExistent.
	extended bool
}

// LIST (RFC 9051 6.3.9) with LIST-EXTENDED, SPECIAL-USE and LIST-STATUS.
func (c *conn) cmdList(tag string, _ bool) error {
	var opts listOptions
	if err := c.r.sp(); err != nil {
		return err
	}
	if b, err := c.r.peek(); err != nil {
		return err
	} else if b == '(' {
		opts.extended = true
		err := c.r.list(func() error {
			a, err := c.r.atom()
			switch strings.ToUpper(a) {
			case "SUBSCRIBED":
				opts.subscribed = true
			case "RECURSIVEMATCH":
				opts.recursive = true
			case "SPECIAL-USE":
				opts.specialUse = true
			case "REMOTE":
			default:
				if err == nil {
					err = badf("Unknown LIST selection option.")
				}
			}
			return err
		})
		if err == nil {
			err = c.r.sp()
		}
		if err != nil {
			return err
		}
		if opts.recursive && !opts.subscribed {
			return badf("RECURSIVEMATCH needs another selection option.")
		}
	}
	ref, err := c.r.astring()
	if err != nil {
		return err
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	var patterns []string
	b, err := c.r.peek()
	if err != nil {
		return err
	}
	if b == '(' {
		opts.extended = true // several patterns (RFC 5258 3)
		err = c.r.list(func() error {
			p, err := c.r.listMailbox()
			if len(patterns) > 100 {
				return badf("Too many patterns.")
			}
			patterns = append(patterns, p)
			return err
		})
	} else {
		var p string
		p, err = c.r.listMailbox()
		patterns = append(patterns, p)
	}
	if err != nil {
		return err
	}
	if sp, err := c.r.maybe(' '); err != nil {
		return err
	} else if sp {
		if err := c.listReturn(&opts); err != nil {
			return err
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	if opts.subscribed {
		opts.retSubscribed = true
	}
	if len(patterns) == 1 && patterns[0] == "" {
		// RFC 9051 6.3.9: the hierarchy delimiter and root name.
		c.w.str(`* LIST (\Noselect) "/" ""` + "\r\n")
		return nil
	}
	refName, err := c.decodeName(ref)
	if err != nil {
		return err
	}
	var full []string
	for _, p := range patterns {
		pn, err := c.decodeName(p)
		if err != nil {
			return err
		}
		if refName != "" && !strings.HasPrefix(pn, "/") {
			if !strings.HasSuffix(refName, "/") {
				refName += "/"
			}
			pn = refName + pn
		}
		full = append(full, pn)
	}
	return c.writeList(full, &opts)
}

func (c *conn) listReturn(opts *listOptions) error {
	opts.extended = true
	a, err := c.r.atom()
	if err != nil {
		return err
	}
	if !strings.EqualFold(a, "RETURN") {
		return badf("Expected RETURN.")
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	return c.r.list(func() error {
		a, err := c.r.atom()
		if err != nil {
			return err
		}
		switch strings.ToUpper(a) {
		case "SUBSCRIBED":
			opts.retSubscribed = true
		case "CHILDREN":
			opts.retChildren = true
		case "SPECIAL-USE":
			opts.retSpecialUse = true
		case "MYRIGHTS":
			if c.srv.ACL == nil {
				return badf("Unknown LIST return option.")
			}
			opts.myRights = true
		case "STATUS":
			if err := c.r.sp(); err != nil {
				return err
			}
			return c.r.list(func() error {
				it, err := c.r.atom()
				opts.status = append(opts.status, strings.ToUpper(it))
				return err
			})
		default:
			return badf("Unknown LIST return option.")
		}
		return nil
	})
}

// listEntry is one mailbox to report.
type listEntry struct {
	info      store.MailboxInfo
	exists    bool
	childInfo bool // RECURSIVEMATCH: has a subscribed child
}

func (c *conn) writeList(patterns []string, opts *listOptions) error {
	infos, err := c.st.ListMailboxes(c.ctx())
	if err != nil {
		return err
	}
	entries := map[string]*listEntry{}
	for _, in := range infos {
		in.Name = store.CanonicalName(in.Name)
		entries[in.Name] = &listEntry{info: in, exists: true}
	}
	if _, ok := entries[store.Inbox]; !ok {
		entries[store.Inbox] = &listEntry{info: store.MailboxInfo{Name: store.Inbox}, exists: true}
	}
	if opts.subscribed || opts.retSubscribed {
		subs, err := c.st.Subscriptions(c.ctx())
		if err != nil {
			return err
		}
		for _, s := range subs {
			s = store.CanonicalName(s)
			if e, ok := entries[s]; ok {
				e.info.Subscribed = true
			} else if opts.subscribed {
				entries[s] = &listEntry{info: store.MailboxInfo{Name: s, Subscribed: true}}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	if opts.recursive {
		for _, n := range names {
			if !entries[n].info.Subscribed {
				continue
			}
			// CHILDINFO is for a parent whose matching children the
			// pattern does not return themselves (RFC 5258 3.5).
			if matchAny(patterns, n) {
				continue
			}
			for p := parentName(n); p != ""; p = parentName(p) {
				if e, ok := entries[p]; ok {
					e.childInfo = true
				}
			}
		}
	}
	for _, n := range names {
		e := entries[n]
		if !matchAny(patterns, n) {
			continue
		}
		if opts.subscribed && !e.info.Subscribed && !(opts.recursive && e.childInfo) {
			continue
		}
		if opts.specialUse && e.info.SpecialUse == "" {
			continue
		}
		if c.hiddenParent(e, patterns, names) {
			continue
		}
		rights, err := c.listRights(e)
		if err != nil {
			return err
		}
		if c.srv.ACL != nil && e.exists && rights&RightLookup == 0 {
			continue // invisible without the lookup right (RFC 4314 4)
		}
		c.writeListEntry("LIST", e, opts)
		if len(opts.status) > 0 && e.exists && !e.info.NoSelect && (c.srv.ACL == nil || rights&RightRead != 0) {
			if err := c.writeStatus(n, opts.status, true); err != nil {
				return err
			}
		}
		if opts.myRights && e.exists && !e.info.NoSelect {
			c.writeMyRights(n, rights)
		}
		if c.w.err != nil {
			return c.w.err
		}
	}
	return nil
}

// matchAny reports whether name matches one of the patterns.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if listMatch(p, name) {
			return true
		}
	}
	return false
}

func parentName(n string) string {
	if i := strings.LastIndexByte(n, '/'); i > 0 {
		return n[:i]
	}
	return ""
}

func (c *conn) writeListEntry(verb string, e *listEntry, opts *listOptions) {
	var attrs []string
	switch {
	case !e.exists:
		attrs = append(attrs, `\NonExistent`)
	case e.info.NoSelect && opts.extended:
		// A name that exists only as a parent, as Dovecot reports it
		// in LIST-EXTENDED (\NonExistent implies \Noselect).
		attrs = append(attrs, `\NonExistent`)
	case e.info.NoSelect:
		attrs = append(attrs, `\Noselect`)
	}
	// Children are reported in a LIST-EXTENDED answer only when asked
	// for (RFC 5258 4: CHILDREN), as Dovecot does.
	if (e.exists && !opts.extended) || opts.retChildren {
		if e.info.HasChildren {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
	}
	if e.info.Subscribed && opts.retSubscribed {
		attrs = append(attrs, `\Subscribed`)
	}
	if e.info.SpecialUse != "" {
		attrs = append(attrs, e.info.SpecialUse)
	}
	c.w.str("* " + verb + " ")
	c.w.flagList(attrs)
	c.w.str(` "/" `)
	c.w.mailbox(e.info.Name)
	if e.childInfo && !e.info.Subscribed {
		c.w.str(` ("CHILDINFO" ("SUBSCRIBED"))`)
	}
	c.w.crlf()
}

// LSUB (RFC 3501 6.3.9; deprecated by IMAP4rev2 but still served).
func (c *conn) cmdLsub(tag string, _ bool) error {
	var ref, pat string
	err := c.r.sp()
	if err == nil {
		ref, err = c.r.astring()
	}
	if err == nil {
		err = c.r.sp()
	}
	if err == nil {
		pat, err = c.r.listMailbox()
	}
	if err == nil {
		err = c.r.crlf()
	}
	if err != nil {
		return err
	}
	refName, err := c.decodeName(ref)
	if err != nil {
		return err
	}
	pn, err := c.decodeName(pat)
	if err != nil {
		return err
	}
	if refName != "" {
		if !strings.HasSuffix(refName, "/") {
			refName += "/"
		}
		pn = refName + pn
	}
	subs, err := c.st.Subscriptions(c.ctx())
	if err != nil {
		return err
	}
	// A subscribed mailbox the pattern does not match (a "%" stops at
	// the hierarchy separator) shows its matching unsubscribed parent
	// as \Noselect (RFC 3501 6.3.9).
	attrs := map[string]string{}
	for _, s := range subs {
		attrs[store.CanonicalName(s)] = "()"
	}
	for _, s := range subs {
		s = store.CanonicalName(s)
		if listMatch(pn, s) {
			continue
		}
		for p := parentName(s); p != ""; p = parentName(p) {
			if _, ok := attrs[p]; !ok && listMatch(pn, p) {
				attrs[p] = `(\Noselect)`
			}
		}
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		if listMatch(pn, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		c.w.str("* LSUB " + attrs[n] + ` "/" `)
		c.w.mailbox(n)
		c.w.crlf()
	}
	return nil
}
