package imap

import (
	"sort"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// NOTIFY (RFC 5465), as Dovecot 2.3 answers it.
//
// Events of the selected mailbox come from the store's change
// notifications through sendUpdates, filtered by the "selected" group:
// without one (or after NOTIFY NONE) nothing is sent unsolicited about
// the selected mailbox; without FlagChange no FETCH FLAGS for others'
// changes; MessageNew's fetch attributes are answered after EXISTS.
//
// Other mailboxes are watched by comparing their STATUS counters and the
// mailbox list with the last look, after every command that may carry
// updates and, in IDLE, every NotifyPollInterval: a change of MESSAGES,
// UIDNEXT or UIDVALIDITY (and, with FlagChange, of UNSEEN or
// HIGHESTMODSEQ) is reported with an untagged STATUS; a mailbox created,
// deleted or renamed with LIST (deleted ones \NonExistent; a rename shows as the
// rename, recognised by its kept UIDVALIDITY, with OLDNAME), a
// subscription change with LIST and \Subscribed or not. The session's
// own changes are reported too, as Dovecot does.

// DefaultNotifyPollInterval is NotifyPollInterval's default.
const DefaultNotifyPollInterval = 5 * time.Second

// notifyState is a session's NOTIFY setting and what it last saw.
type notifyState struct {
	spec *notifySpec
	// boxes is the mailbox list at the last look, by name.
	boxes map[string]store.MailboxInfo
	// stat holds the counters of the watched non-selected mailboxes.
	stat map[string]store.MailboxStatus
	// flagWatched are the watched mailboxes with FlagChange.
	flagWatched map[string]bool
	// uidValidity remembers each selectable mailbox's UIDVALIDITY
	// (read once per name) so that a rename, which keeps it, is told as
	// one with OLDNAME rather than as a deletion and a creation.
	uidValidity map[string]uint32
}

// cmdNotify is NOTIFY SET and NOTIFY NONE.
func (c *conn) cmdNotify(tag string, _ bool) error {
	spec, err := c.parseNotify()
	if err != nil {
		return err
	}
	if spec.none {
		c.notify = &notifyState{spec: spec}
		return nil
	}
	for i := range spec.groups {
		if spec.groups[i].events.flagChange {
			// FLAGS changes are reported with their mod-sequences.
			c.enableCondstore()
			break
		}
	}
	ns := &notifyState{spec: spec}
	c.notify = ns
	c.lookNotify(false)
	if spec.status {
		names := make([]string, 0, len(ns.stat))
		for n := range ns.stat {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			st := ns.stat[n]
			c.writeNotifyStatus(n, &st, true, ns.flagWatched[n])
		}
	}
	return nil
}

// selectedEvents returns the events asked for the selected mailbox, or
// nil when NOTIFY is in force without a selected group. Without NOTIFY
// every event is sent, as IMAP4rev1 does.
func (c *conn) selectedEvents() (ev *notifyEvents, ok bool) {
	if c.notify == nil {
		return nil, true
	}
	for i := range c.notify.spec.groups {
		g := &c.notify.spec.groups[i]
		if g.filter == filterSelected || g.filter == filterSelectedDelayed {
			if !g.events.any() {
				return nil, false
			}
			return &g.events, true
		}
	}
	return nil, false
}

// watchesOthers reports whether NOTIFY asks about mailboxes other than
// the selected one.
func (ns *notifyState) watchesOthers() bool {
	if ns == nil {
		return false
	}
	for i := range ns.spec.groups {
		g := &ns.spec.groups[i]
		if g.filter != filterSelected && g.filter != filterSelectedDelayed && g.events.any() {
			return true
		}
	}
	return false
}

// eventsFor merges the events the non-selected groups matching name ask
// for.
func (ns *notifyState) eventsFor(info *store.MailboxInfo) notifyEvents {
	var ev notifyEvents
	for i := range ns.spec.groups {
		g := &ns.spec.groups[i]
		if !g.matches(info) {
			continue
		}
		ev.messageNew = ev.messageNew || g.events.messageNew
		ev.messageExpunge = ev.messageExpunge || g.events.messageExpunge
		ev.flagChange = ev.flagChange || g.events.flagChange
		ev.mailboxName = ev.mailboxName || g.events.mailboxName
		ev.subscriptionChange = ev.subscriptionChange || g.events.subscriptionChange
	}
	return ev
}

// matches reports whether a non-selected group's filter takes info.
func (g *notifyGroup) matches(info *store.MailboxInfo) bool {
	switch g.filter {
	case filterInboxes:
		return info.Name == "INBOX"
	case filterPersonal:
		return true
	case filterSubscribed:
		return info.Subscribed
	case filterSubtree:
		for _, n := range g.names {
			if info.Name == n || strings.HasPrefix(info.Name, n+"/") {
				return true
			}
		}
	case filterMailboxes:
		for _, n := range g.names {
			if info.Name == n {
				return true
			}
		}
	}
	return false
}

// lookNotify compares the watched mailboxes with the last look and,
// when report is set, tells the client what changed. With report unset
// it only takes the new state as the reference (after NOTIFY SET and the
// session's own mailbox commands).
func (c *conn) lookNotify(report bool) {
	ns := c.notify
	if ns == nil || ns.spec.none || c.st == nil || !ns.watchesOthers() {
		return
	}
	infos, err := c.st.ListMailboxes(c.ctx())
	if err != nil {
		c.log.Warn("imap: NOTIFY: listing mailboxes failed", "err", err)
		return
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	cur := make(map[string]store.MailboxInfo, len(infos))
	for _, in := range infos {
		cur[in.Name] = in
	}
	c.rememberUIDValidity(infos)
	if report && ns.boxes != nil {
		c.reportMailboxEvents(ns.boxes, cur, infos)
	}
	for n := range ns.boxes {
		if _, ok := cur[n]; !ok {
			delete(ns.uidValidity, n)
		}
	}
	ns.boxes = cur
	stat := make(map[string]store.MailboxStatus, len(ns.stat))
	ns.flagWatched = map[string]bool{}
	for i := range infos {
		in := &infos[i]
		if in.NoSelect || c.sel != nil && c.sel.name == in.Name {
			continue
		}
		ev := ns.eventsFor(in)
		if !ev.messageNew {
			continue
		}
		st, err := c.st.Status(c.ctx(), in.Name)
		if err != nil {
			continue
		}
		stat[in.Name] = st
		if ev.flagChange {
			ns.flagWatched[in.Name] = true
		}
		old, had := ns.stat[in.Name]
		if !report || !had {
			continue
		}
		changed := st.Messages != old.Messages || st.UIDNext != old.UIDNext || st.UIDValidity != old.UIDValidity
		if ev.flagChange && (st.Unseen != old.Unseen || st.HighestModSeq != old.HighestModSeq) {
			changed = true
		}
		if changed {
			c.writeNotifyStatus(in.Name, &st, false, c.condstore)
		}
	}
	ns.stat = stat
}

// rememberUIDValidity reads the UIDVALIDITY of selectable mailboxes
// not seen before, when mailbox names are watched.
func (c *conn) rememberUIDValidity(infos []store.MailboxInfo) {
	ns := c.notify
	if ns.uidValidity == nil {
		ns.uidValidity = map[string]uint32{}
	}
	for i := range infos {
		in := &infos[i]
		if _, ok := ns.uidValidity[in.Name]; ok || in.NoSelect || !ns.eventsFor(in).mailboxName {
			continue
		}
		if st, err := c.st.Status(c.ctx(), in.Name); err == nil {
			ns.uidValidity[in.Name] = st.UIDValidity
		}
	}
}

// reportMailboxEvents writes LIST responses for mailboxes created,
// deleted, renamed and (un)subscribed since the last look (RFC 5465
// 5.4, 5.5).
func (c *conn) reportMailboxEvents(old, cur map[string]store.MailboxInfo, infos []store.MailboxInfo) {
	ns := c.notify
	goneByUIDV := map[uint32]string{}
	var gone []string
	for n := range old {
		if _, ok := cur[n]; !ok {
			gone = append(gone, n)
			if v, ok := ns.uidValidity[n]; ok && v != 0 {
				goneByUIDV[v] = n
			}
		}
	}
	renamed := map[string]string{} // old name -> new name
	for i := range infos {
		in := &infos[i]
		if _, existed := old[in.Name]; existed || in.NoSelect {
			continue
		}
		if from, ok := goneByUIDV[ns.uidValidity[in.Name]]; ok {
			renamed[from] = in.Name
			delete(goneByUIDV, ns.uidValidity[in.Name])
		}
	}
	sort.Strings(gone)
	for _, n := range gone {
		in := old[n]
		if _, ok := renamed[n]; ok || !ns.eventsFor(&in).mailboxName {
			continue
		}
		c.writeNotifyList(n, `\NonExistent`)
	}
	oldNameOf := map[string]string{}
	for from, to := range renamed {
		oldNameOf[to] = from
	}
	for i := range infos {
		in := &infos[i]
		ev := ns.eventsFor(in)
		was, existed := old[in.Name]
		switch {
		case existed && was.NoSelect != in.NoSelect:
			// A parent made a mailbox or the reverse: the name stays.
		case !existed:
			// Parents that exist only as hierarchy come and go with
			// their children and are told as Dovecot tells them:
			// created or \NonExistent, never renamed.
			if ev.mailboxName {
				attrs := ""
				if in.Subscribed {
					attrs = `\Subscribed`
				}
				if from, ok := oldNameOf[in.Name]; ok {
					c.w.str("* LIST (" + attrs + `) "/" `)
					c.w.mailbox(in.Name)
					c.w.str(` ("OLDNAME" (`)
					c.w.mailbox(from)
					c.w.str("))\r\n")
					continue
				}
				c.writeNotifyList(in.Name, attrs)
			}
		case was.Subscribed != in.Subscribed:
			if ev.subscriptionChange {
				attrs := ""
				if in.Subscribed {
					attrs = `\Subscribed`
				}
				c.writeNotifyList(in.Name, attrs)
			}
		}
	}
}

// writeNotifyList writes `* LIST (attrs) "/" name`.
func (c *conn) writeNotifyList(name, attrs string) {
	c.w.str("* LIST (" + attrs + `) "/" `)
	c.w.mailbox(name)
	c.w.crlf()
}

// writeNotifyStatus writes the STATUS of a watched mailbox, with
// UIDVALIDITY for NOTIFY SET STATUS and HIGHESTMODSEQ when modseq is set.
// Dovecot includes HIGHESTMODSEQ in NOTIFY SET STATUS's responses for
// mailboxes watched with FlagChange, and in later ones once CONDSTORE is
// on.
func (c *conn) writeNotifyStatus(name string, st *store.MailboxStatus, initial, modseq bool) {
	c.w.str("* STATUS ")
	c.w.mailbox(name)
	c.w.str(" (MESSAGES ")
	c.w.num(st.Messages)
	c.w.str(" UIDNEXT ")
	c.w.num(st.UIDNext)
	if initial {
		c.w.str(" UIDVALIDITY ")
		c.w.num(st.UIDValidity)
	}
	c.w.str(" UNSEEN ")
	c.w.num(st.Unseen)
	if modseq {
		c.w.str(" HIGHESTMODSEQ ")
		c.w.num64(st.HighestModSeq)
	}
	c.w.str(")\r\n")
}

// ownNotifyCommand reports whether a command changes the mailbox list,
// the subscriptions or another mailbox's messages: NOTIFY reports its
// effect at the next command, as Dovecot does.
func ownNotifyCommand(name string) bool {
	switch name {
	case "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "APPEND", "COPY", "MOVE":
		return true
	}
	return false
}

// writeNewFetch answers MessageNew's fetch attributes for the messages
// just added to the view.
func (c *conn) writeNewFetch(items []fetchItem, uids []uint32) {
	if len(items) == 0 || len(uids) == 0 {
		return
	}
	var set store.UIDSet
	for _, u := range uids {
		set.Add(u)
	}
	f := &fetcher{c: c, items: items, seenNow: map[uint32]bool{}}
	for i := range items {
		f.needFlags = f.needFlags || items[i].name == "FLAGS"
	}
	if err := c.sel.mb.Messages(c.ctx(), set, f.message); err != nil {
		c.log.Warn("imap: NOTIFY: fetching new messages failed", "err", err)
	}
}
