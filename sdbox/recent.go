package sdbox

import (
	"context"
	"slices"
)

// \Recent as Dovecot keeps it: the index header's first_recent_uid is
// the lowest UID no session has seen. A session that opens the mailbox
// for writing (IMAP SELECT), or later learns of new messages (Poll),
// takes the messages from there to the next UID as its recent ones and
// raises first_recent_uid past them with a header update in the log,
// as Dovecot's index sync does; a read-only handle (EXAMINE) shows them
// recent without taking them. The update is not fsynced: lost in a
// crash, the messages are recent again, as they would be with Dovecot.

// initRecent takes the recent messages the first time the handle lists
// the mailbox or its status (not at open: a delivery's handle, which
// only appends, takes nothing, as Dovecot's LMTP takes nothing).
func (mb *Mailbox) initRecent(ctx context.Context) {
	if !mb.recentInit {
		mb.recentInit = true
		mb.claimRecent(ctx)
	}
}

// claimRecent takes, for a writable handle, the messages no session has
// seen yet; a read-only handle, or one opened with KeepRecent, only notes
// them.
func (mb *Mailbox) claimRecent(ctx context.Context) {
	first, next := mb.view.u32(hdrFirstRecentUID), mb.view.nextUID()
	if first >= next {
		return
	}
	if mb.ro || mb.keepRecent {
		mb.addRecent(first, next)
		return
	}
	t, err := mb.h.begin(ctx, mb)
	if err != nil {
		mb.s.opts.logger().Warn("sdbox: cannot take recent messages", "mailbox", mb.name, "err", err)
		return
	}
	if !mb.sameMailbox(t) {
		t.abort()
		return
	}
	first, next = t.tip.u32(hdrFirstRecentUID), t.tip.nextUID()
	if first >= next {
		t.abort()
		return
	}
	tx := newTx()
	tx.add(recHeaderUpdate|recExternal, hdrUpdateBody(hdrFirstRecentUID, le32(next)))
	t.noSync = true
	ms := t.tip.modseq
	data, off, err := t.commit(tx)
	if err != nil {
		mb.s.opts.logger().Warn("sdbox: cannot take recent messages", "mailbox", mb.name, "err", err)
		return
	}
	mb.applyOwn(t, data, off, ms)
	mb.addRecent(first, next)
}

// addRecent records the UIDs [from, to) as recent in this handle.
func (mb *Mailbox) addRecent(from, to uint32) {
	if n := len(mb.recent); n > 0 && mb.recent[n-1][1] >= from {
		mb.recent[n-1][1] = max(mb.recent[n-1][1], to)
		return
	}
	mb.recent = append(mb.recent, [2]uint32{from, to})
}

// isRecent reports whether uid is recent in this handle.
func (mb *Mailbox) isRecent(uid uint32) bool {
	_, found := slices.BinarySearchFunc(mb.recent, uid, func(r [2]uint32, u uint32) int {
		switch {
		case r[1] <= u:
			return -1
		case r[0] > u:
			return 1
		}
		return 0
	})
	return found
}

// recentCount is the number of messages of the view recent in this
// handle.
func (mb *Mailbox) recentCount() uint32 {
	n := uint32(0)
	for _, r := range mb.recent {
		lo := mb.view.find(r[0])
		hi := mb.view.find(r[1])
		n += uint32(hi - lo)
	}
	return n
}
