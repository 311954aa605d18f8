package imap

import "github.com/yubinmail/yubin/store"

// CONTEXT=SEARCH (RFC 5267 4): a SEARCH with RETURN (UPDATE) is kept up
// to date while the mailbox stays selected. Whenever the selected
// mailbox changes, each context's search is run again over the
// messages the client knows and the difference is told as
//
//	* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (0 set)
//
// (SEARCH results have no order, so the position is 0), as Dovecot 2.3
// words it. Removals of expunged messages go out before the EXPUNGE
// responses, in the sequence numbers the client still has; new matches
// after EXISTS. CANCELUPDATE ends a context. Updates are sent only where
// EXPUNGE may be (not during FETCH, STORE or SEARCH by number).

// maxSearchContexts bounds the contexts of one selection: each costs a
// search of the mailbox at every change.
const maxSearchContexts = 10

// searchContext is one kept search.
type searchContext struct {
	tag  string
	key  *searchKey
	uid  bool
	hits store.UIDSet   // matching UIDs as last told
	sort *sortContextOf // a SORT's context (context_sort.go), else nil
}

// addSearchContext keeps the search just answered (tag c.curTag), or
// says NOUPDATE when there are too many.
func (c *conn) addSearchContext(key *searchKey, uid bool, hits store.UIDSet) {
	sel := c.sel
	for i, x := range sel.contexts {
		if x.tag == c.curTag {
			// A tag reused replaces its context (RFC 5267 4.2).
			sel.contexts = append(sel.contexts[:i:i], sel.contexts[i+1:]...)
			break
		}
	}
	if len(sel.contexts) >= maxSearchContexts {
		c.w.str(`* NO [NOUPDATE "` + c.curTag + `"] Too many search contexts.` + "\r\n")
		return
	}
	sel.contexts = append(sel.contexts, &searchContext{tag: c.curTag, key: key, uid: uid, hits: append(store.UIDSet{}, hits...)})
}

// updateSearchContexts searches again for every context and writes what
// changed.
func (c *conn) updateSearchContexts() {
	sel := c.sel
	for _, sc := range sel.contexts {
		if sc.sort != nil {
			c.updateSortContext(sc)
			continue
		}
		now := store.UIDSet{}
		if err := c.runSearch(sc.key, func(m *store.MessageInfo, _ uint32) error {
			now.Add(m.UID)
			return nil
		}); err != nil {
			c.log.Warn("imap: search context update failed", "err", err)
			continue
		}
		removed, added := uidSetMinus(sc.hits, now), uidSetMinus(now, sc.hits)
		sc.hits = now
		if len(removed) == 0 && len(added) == 0 {
			continue
		}
		if !sc.uid {
			removed, added = c.seqSetOf(removed), c.seqSetOf(added)
			if len(removed) == 0 && len(added) == 0 {
				continue
			}
		}
		c.w.str(`* ESEARCH (TAG "` + sc.tag + `")`)
		if sc.uid {
			c.w.str(" UID")
		}
		if len(removed) > 0 {
			c.w.str(" REMOVEFROM (0 " + removed.String() + ")")
		}
		if len(added) > 0 {
			c.w.str(" ADDTO (0 " + added.String() + ")")
		}
		c.w.crlf()
	}
}

// dropFromSearchContexts tells the contexts that held any of the
// messages about to be expunged (uids) that they are gone, in the
// sequence numbers the client still has (before the EXPUNGE responses).
func (c *conn) dropFromSearchContexts(uids []uint32) {
	for _, sc := range c.sel.contexts {
		if sc.sort != nil {
			c.dropFromSortContext(sc, uids)
			continue
		}
		var removed store.UIDSet
		for _, u := range uids {
			if sc.hits.Contains(u) {
				removed.Add(u)
			}
		}
		if len(removed) == 0 {
			continue
		}
		sc.hits = uidSetMinus(sc.hits, removed)
		if !sc.uid {
			removed = c.seqSetOf(removed)
			if len(removed) == 0 {
				continue
			}
		}
		c.w.str(`* ESEARCH (TAG "` + sc.tag + `")`)
		if sc.uid {
			c.w.str(" UID")
		}
		c.w.str(" REMOVEFROM (0 " + removed.String() + ")\r\n")
	}
}

// ownChangeCommand reports whether a command may change the selected
// mailbox itself (its handle's Poll never reports such changes): the
// contexts are brought up to date before its tagged response, as
// Dovecot does.
func ownChangeCommand(name string) bool {
	switch name {
	case "STORE", "FETCH", "APPEND", "COPY", "MOVE", "EXPUNGE":
		return true
	}
	return false
}

// cmdCancelUpdate is CANCELUPDATE tag *(SP tag) (RFC 5267 4.3).
func (c *conn) cmdCancelUpdate(tag string, _ bool) error {
	var tags []string
	for {
		if err := c.r.sp(); err != nil {
			return err
		}
		t, err := c.r.str()
		if err != nil {
			return err
		}
		if len(tags) < 100 {
			tags = append(tags, t)
		}
		if eol, err := c.r.atEOL(); err != nil {
			return err
		} else if eol {
			break
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	sel := c.sel
	if sel == nil {
		// Contexts end with their selection (Dovecot's answer).
		return no("", "Unknown tag.")
	}
	for _, t := range tags {
		found := false
		for i, x := range sel.contexts {
			if x.tag == t {
				sel.contexts = append(sel.contexts[:i:i], sel.contexts[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			return no("", "Unknown tag.")
		}
	}
	c.okText = "Updates cancelled."
	return nil
}

// uidSetMinus returns the UIDs of a that are not in b.
func uidSetMinus(a, b store.UIDSet) store.UIDSet {
	var out store.UIDSet
	for _, r := range a {
		for u := r.Start; ; u++ {
			if !b.Contains(u) {
				out.Add(u)
			}
			if u == r.Stop {
				break
			}
		}
	}
	return out
}
