package imap

import "github.com/yubinmail/yubin/store"

// setArg reads a sequence set argument and resolves it against the
// selected mailbox: UIDs for UID commands, sequence numbers otherwise,
// "$" for the saved search result (RFC 5182).
func (c *conn) setArg(uid bool) (store.UIDSet, error) {
	ns, err := c.r.seqSet()
	if err != nil {
		return nil, err
	}
	return c.resolveSet(ns, uid)
}

func (c *conn) resolveSet(ns numSet, uid bool) (store.UIDSet, error) {
	if ns.Saved {
		if c.sel.saved == nil {
			return store.UIDSet{}, nil
		}
		return c.sel.saved, nil
	}
	if uid {
		return c.sel.view.uidSetOf(ns), nil
	}
	return c.sel.view.seqToUIDSet(ns)
}

// uidSetToSeqs formats the sequence numbers of the UIDs in set that are
// in view (for MODIFIED and ESEARCH by sequence number).
func (c *conn) seqSetOf(set store.UIDSet) store.UIDSet {
	out := store.UIDSet{}
	for _, r := range set {
		for u := r.Start; ; u++ {
			if s := c.sel.view.seqOf(u); s != 0 {
				out.Add(s)
			}
			if u == r.Stop {
				break
			}
		}
	}
	return out
}
