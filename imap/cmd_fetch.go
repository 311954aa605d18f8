package imap

import (
	"errors"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// FETCH and UID FETCH (RFC 9051 6.4.5) with CHANGEDSINCE/VANISHED
// (RFC 7162), BINARY (RFC 3516), SAVEDATE (RFC 8514) and OBJECTID
// (RFC 8474). Responses are streamed message by message; no EXPUNGE is
// sent while it runs.
func (c *conn) cmdFetch(tag string, uid bool) error {
	if err := c.r.sp(); err != nil {
		return err
	}
	ns, err := c.r.seqSet()
	if err != nil {
		return err
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	items, err := c.fetchItems()
	if err != nil {
		return err
	}
	var mods fetchModifiers
	if sp, err := c.r.maybe(' '); err != nil {
		return err
	} else if sp {
		err := c.r.list(func() error {
			a, err := c.r.atom()
			if err != nil {
				return err
			}
			switch strings.ToUpper(a) {
			case "CHANGEDSINCE":
				if err := c.r.sp(); err != nil {
					return err
				}
				mods.changedSince, err = c.r.number64()
				c.enableCondstore()
				return err
			case "VANISHED":
				if !c.qresync || !uid {
					return badf("VANISHED needs QRESYNC and UID FETCH.")
				}
				mods.vanished = true
				return nil
			}
			return badf("Unknown FETCH modifier.")
		})
		if err != nil {
			return err
		}
		if mods.vanished && mods.changedSince == 0 {
			return badf("VANISHED needs CHANGEDSINCE.")
		}
	}
	if err := c.r.crlf(); err != nil {
		return err
	}
	set, err := c.resolveSet(ns, uid)
	if err != nil {
		return err
	}
	if uid {
		items = append([]fetchItem{{name: "UID"}}, items...)
	}
	if mods.changedSince > 0 {
		items = append(items, fetchItem{name: "MODSEQ"})
	}
	// RFC 7162 3.1.4.1: with CONDSTORE on, FETCH responses that carry
	// FLAGS carry MODSEQ too.
	if c.condstore {
		for _, it := range items {
			if it.name == "FLAGS" || it.setsSeen() && c.sel.canSetSeen() {
				items = append(items, fetchItem{name: "MODSEQ"})
				break
			}
		}
	}
	items = dedupItems(items)
	if mods.vanished {
		c.writeVanishedEarlier(ns)
	}
	if set.Empty() {
		return nil
	}
	// Non-PEEK body items set \Seen first, so the FETCH reports the new
	// flags (RFC 9051 6.4.5).
	seenNow := map[uint32]bool{}
	needSeen := false
	needFlags := false
	for i := range items {
		needSeen = needSeen || items[i].setsSeen()
		needFlags = needFlags || items[i].name == "FLAGS"
	}
	if needSeen && c.sel.canSetSeen() {
		updated, _, err := c.sel.mb.SetFlags(c.ctx(), set, store.FlagsAdd, store.Flags{System: store.Seen}, 0)
		if err != nil {
			return err
		}
		for _, u := range updated {
			seenNow[u.UID] = true
		}
	}
	f := &fetcher{c: c, items: items, needFlags: needFlags, seenNow: seenNow}
	for i := range items {
		if items[i].name == "ENVELOPE" {
			f.envelopes = c.storedEnvelopes(set)
			break
		}
	}
	err = c.sel.mb.Messages(c.ctx(), set, func(m *store.MessageInfo) error {
		if mods.changedSince > 0 && m.ModSeq <= mods.changedSince {
			return nil
		}
		return f.message(m)
	})
	if err != nil {
		return err
	}
	if f.incomplete {
		c.okCode = "EXPUNGEISSUED"
		c.okText = "Some messages were expunged before they could be fetched."
	}
	return nil
}

func dedupItems(items []fetchItem) []fetchItem {
	seen := map[string]bool{}
	out := items[:0]
	for _, it := range items {
		key := it.responseName()
		if it.peek {
			key += ".PEEK"
		}
		if it.partial {
			key += "." + itoa(it.count)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, it)
	}
	return out
}

// writeVanishedEarlier answers UID FETCH ... (CHANGEDSINCE m VANISHED):
// the requested UIDs that no longer exist (RFC 7162 3.2.6).
func (c *conn) writeVanishedEarlier(ns numSet) {
	if ns.Saved {
		return
	}
	known := store.UIDSet{}
	max := c.sel.view.maxUID()
	for _, r := range ns.Ranges {
		a, b := r.start, r.stop
		if a == star {
			a = max
		}
		if b == star {
			b = max
		}
		if a == 0 || b == 0 {
			continue
		}
		known.AddRange(a, b)
	}
	if len(known) > 0 && max > 0 {
		// UIDs above the last message cannot have been seen.
		last := known[len(known)-1]
		if last.Start > max {
			known = known[:len(known)-1]
		} else if last.Stop > max {
			known[len(known)-1].Stop = max
		}
	}
	if gone := c.sel.view.missingIn(known); len(gone) > 0 {
		c.w.str("* VANISHED (EARLIER) " + gone.String() + "\r\n")
	}
}

// fetcher writes the FETCH response of each message.
type fetcher struct {
	c         *conn
	items     []fetchItem
	needFlags bool
	seenNow   map[uint32]bool
	// incomplete is set when a message's content was gone and not
	// every item could be answered from the cache.
	incomplete bool
	// envelopes are the stored ENVELOPEs (EnvelopeDataName) of the
	// fetched messages, by UID; nil when the mailbox keeps none.
	envelopes map[uint32][]byte
}

func (f *fetcher) message(m *store.MessageInfo) error {
	c := f.c
	seq := c.sel.view.seqOf(m.UID)
	if seq == 0 {
		return nil
	}
	var msg *message
	defer func() {
		if msg != nil {
			msg.close()
		}
	}()
	for i := range f.items {
		if _, stored := f.envelopes[m.UID]; f.items[i].needsContent() && !(f.items[i].name == "ENVELOPE" && stored) {
			var err error
			msg, err = c.openMessage(m)
			if errors.Is(err, store.ErrNoSuchMessage) {
				// Another session expunged it: the session still
				// answers with what it knows, as Dovecot does from its
				// cache, and the tagged OK says [EXPUNGEISSUED].
				msg, err = nil, nil
			}
			if err != nil {
				return err
			}
			break
		}
	}
	if f.needFlags || f.seenNow[m.UID] {
		c.announceKeywords(m.Flags.Keywords)
	}
	c.w.str("* ")
	c.w.num(seq)
	c.w.str(" FETCH (")
	flagsDone := false
	if f.seenNow[m.UID] && !f.needFlags {
		// The \Seen a body item just set is reported first, as
		// Dovecot orders it.
		c.w.str("FLAGS ")
		c.writeFlags(m.Flags, m.Recent)
		flagsDone = true
		if len(f.items) > 0 {
			c.w.byte(' ')
		}
	}
	for i := range f.items {
		it := &f.items[i]
		if i > 0 {
			c.w.byte(' ')
		}
		switch it.name {
		case "UID":
			c.w.str("UID ")
			c.w.num(m.UID)
		case "FLAGS":
			c.w.str("FLAGS ")
			c.writeFlags(m.Flags, m.Recent)
			flagsDone = true
		case "INTERNALDATE":
			c.w.str(`INTERNALDATE "` + m.InternalDate.Format("02-Jan-2006 15:04:05 -0700") + `"`)
		case "RFC822.SIZE":
			c.w.str("RFC822.SIZE ")
			c.w.num64(uint64(m.Size))
		case "MODSEQ":
			c.w.str("MODSEQ (")
			c.w.num64(m.ModSeq)
			c.w.byte(')')
		case "SAVEDATE":
			c.w.str("SAVEDATE ")
			if m.SaveDate.IsZero() {
				c.w.str("NIL")
			} else {
				c.w.str(`"` + m.SaveDate.Format("02-Jan-2006 15:04:05 -0700") + `"`)
			}
		case "EMAILID":
			c.w.str("EMAILID (" + emailID(m) + ")")
		case "THREADID":
			c.w.str("THREADID NIL")
		case "ENVELOPE":
			if ok, err := f.writeEnvelope(msg, m.UID); err != nil {
				return err
			} else if !ok && !c.writeExpungedItem(it, m) {
				f.incomplete = true
			}
		default:
			if msg == nil {
				if !c.writeExpungedItem(it, m) {
					f.incomplete = true
				}
				continue
			}
			if err := msg.writeItem(c, it, m); err != nil {
				return err
			}
		}
	}
	if f.seenNow[m.UID] && !flagsDone {
		c.w.str(" FLAGS ")
		c.writeFlags(m.Flags, m.Recent)
	}
	c.w.str(")\r\n")
	return c.w.err
}

// writeExpungedItem writes a content item of a message whose content is
// gone: empty values of the item's syntax (Dovecot's answer).
// It reports whether the item was answered in full from the cache.
func (c *conn) writeExpungedItem(it *fetchItem, m *store.MessageInfo) bool {
	// The parsed structure may still be in the server's cache.
	if p := c.srv.cache().Get(c.messageKey(m.UID)); p != nil {
		switch it.name {
		case "ENVELOPE":
			c.w.str("ENVELOPE ")
			p.WriteEnvelope(c.w)
			return true
		case "BODYSTRUCTURE":
			c.w.str("BODYSTRUCTURE ")
			p.WriteBodyStructure(c.w, true)
			return true
		case "BODY":
			if it.section == nil {
				c.w.str("BODY ")
				p.WriteBodyStructure(c.w, false)
				return true
			}
		}
	}
	switch it.name {
	case "ENVELOPE":
		c.w.str("ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)")
	case "BODYSTRUCTURE", "BODY":
		if it.name == "BODY" && it.section != nil {
			c.w.str(it.responseName() + " NIL")
			return false
		}
		c.w.str(it.name + ` ("text" "plain" NIL NIL NIL "7bit" 0 0)`)
	case "PREVIEW":
		c.w.str("PREVIEW NIL")
	case "BINARY.SIZE":
		c.w.str(it.responseName() + " 0")
	default:
		c.w.str(it.responseName() + " NIL")
	}
	return false
}

// emailID is the OBJECTID EMAILID of a message: its store GUID made
// into an objectid (letters, digits, '-' and '_').
func emailID(m *store.MessageInfo) string {
	var b strings.Builder
	b.WriteByte('E')
	for i := 0; i < len(m.GUID) && b.Len() < 255; i++ {
		ch := m.GUID[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_':
			b.WriteByte(ch)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 1 {
		b.WriteString(itoa(m.UID))
	}
	return b.String()
}

var _ = time.Now
