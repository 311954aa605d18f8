package pgstore

import (
	"context"

	"github.com/yubinmail/yubin/store"
)

// \Recent (RFC 3501 2.3.2) is kept as Dovecot keeps it: the mailbox row's
// recent_upto is the highest UID some writable handle has seen. A
// writable handle that sees messages above it (when it reads its view,
// at Poll, or by its own append or copy) raises it and holds them
// \Recent; a read-only handle shows them \Recent without taking them
// (EXAMINE leaves them for the next SELECT, as Dovecot does).

// claimRecentSQL raises recent_upto to $2 and returns its value before,
// under the row lock, so two handles never both take a message.
const claimRecentSQL = `UPDATE pgstore_mailboxes n SET recent_upto = greatest(o.recent_upto, $2)
	FROM (SELECT id, recent_upto FROM pgstore_mailboxes WHERE id = $1 FOR UPDATE) o
	WHERE n.id = o.id RETURNING o.recent_upto`

// takeRecent marks the messages of msgs above upTo, the recent_upto
// the caller read, \Recent in this handle; a writable handle claims
// them first (one round trip, only when there is any).
func (m *Mailbox) takeRecent(ctx context.Context, msgs []msg, upTo int64) error {
	var top int64
	for i := range msgs {
		top = max(top, int64(msgs[i].uid))
	}
	if top <= upTo {
		return nil
	}
	if !m.ro && !m.keepRecent {
		if err := m.b.pool.QueryRow(ctx, claimRecentSQL, m.id, top).Scan(&upTo); err != nil {
			return dbErr("recent", err)
		}
	}
	for i := range msgs {
		if int64(msgs[i].uid) > upTo {
			m.recent.Add(msgs[i].uid)
		}
	}
	return nil
}

// reportNew takes \Recent among the messages a Poll found new and marks
// them in the ChangeNew entries of changes. A failure to claim them is
// logged: the changes are reported all the same, without \Recent.
func (m *Mailbox) reportNew(ctx context.Context, changes []store.Change, fresh []msg, upTo int64) ([]store.Change, error) {
	if err := m.takeRecent(ctx, fresh, upTo); err != nil {
		m.b.log.Warn("pgstore: claiming \\Recent", "mailbox", m.name, "err", err)
	}
	for i := range changes {
		if ch := &changes[i]; ch.Kind == store.ChangeNew {
			ch.Message.Recent = m.isRecent(ch.UID)
		}
	}
	return changes, nil
}

// isRecent reports whether uid is \Recent in this handle (a nil UIDSet
// would contain every UID).
func (m *Mailbox) isRecent(uid uint32) bool { return m.recent != nil && m.recent.Contains(uid) }
