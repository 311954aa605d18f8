package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/store"
)

// The kinds of journal entries (pgstore_journal.kind).
const (
	journalNew     = 1
	journalFlags   = 2
	journalExpunge = 3
)

// Poll implements store.Mailbox: it reads the journal entries after the
// handle's cursor, in modseq order, and applies those another handle
// made. The handle's own entries (same origin) are skipped: their
// effect is already in the view.
func (m *Mailbox) Poll(ctx context.Context) ([]store.Change, error) {
	if m.closed {
		return nil, store.ErrClosed
	}
	if m.gone {
		return nil, store.ErrMailboxGone
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	if !m.loaded {
		changes, err := m.firstPoll(ctx)
		if errors.Is(err, store.ErrMailboxGone) {
			return []store.Change{{Kind: store.ChangeDeleted}}, nil
		}
		return changes, err
	}
	var name string
	var uv, un, hms, floor, recentUpTo int64
	err := m.b.pool.QueryRow(ctx, `SELECT name, uidvalidity, uidnext, highestmodseq, journal_floor, recent_upto FROM pgstore_mailboxes WHERE id = $1`, m.id).
		Scan(&name, &uv, &un, &hms, &floor, &recentUpTo)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && name != m.name) {
		m.gone = true
		return []store.Change{{Kind: store.ChangeDeleted}}, nil
	}
	if err != nil {
		return nil, dbErr("poll", err)
	}
	if uint32(uv) != m.uidValidity {
		m.gone = true
		return []store.Change{{Kind: store.ChangeUIDValidity}}, nil
	}
	if uint64(hms) <= m.known {
		return nil, nil
	}
	if uint64(floor) > m.known {
		return m.resync(ctx, recentUpTo)
	}
	rows, err := m.b.pool.Query(ctx, `SELECT modseq, kind, uid, origin, flags, keywords, internal_date, save_date, size, guid
		FROM pgstore_journal WHERE mailbox_id = $1 AND modseq > $2 ORDER BY modseq, id`, m.id, int64(m.known))
	if err != nil {
		return nil, dbErr("poll", err)
	}
	defer rows.Close()
	var changes []store.Change
	var fresh []msg
	cursor := uint64(hms)
	for rows.Next() {
		var modseq, uid, origin, size int64
		var kind int16
		var flags int32
		var kw []string
		var internal, save *time.Time
		var guid string
		if err := rows.Scan(&modseq, &kind, &uid, &origin, &flags, &kw, &internal, &save, &size, &guid); err != nil {
			return nil, dbErr("poll", err)
		}
		cursor = max(cursor, uint64(modseq))
		if origin == m.origin {
			continue
		}
		if len(kw) == 0 {
			kw = nil
		}
		u := uint32(uid)
		switch kind {
		case journalNew:
			if m.find(u) >= 0 {
				continue
			}
			x := msg{uid: u, flags: store.SystemFlags(flags), modseq: uint64(modseq), size: size, keywords: kw, guid: guid}
			if internal != nil {
				x.internal = *internal
			}
			if save != nil {
				x.save = *save
			}
			m.insertView(x)
			m.uidNext = max(m.uidNext, u+1)
			fresh = append(fresh, x)
			changes = append(changes, store.Change{Kind: store.ChangeNew, UID: u, Message: x.info()})
		case journalFlags:
			i := m.find(u)
			if i < 0 || m.msgs[i].modseq >= uint64(modseq) {
				continue
			}
			x := &m.msgs[i]
			x.flags, x.keywords, x.modseq = store.SystemFlags(flags), kw, uint64(modseq)
			changes = append(changes, store.Change{Kind: store.ChangeFlags, UID: u, Message: m.info(x)})
		case journalExpunge:
			if m.find(u) < 0 {
				continue
			}
			m.removeView([]uint32{u})
			changes = append(changes, store.Change{Kind: store.ChangeExpunge, UID: u})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("poll", err)
	}
	m.known = max(m.known, cursor)
	m.uidNext = max(m.uidNext, uint32(un))
	return m.reportNew(ctx, changes, fresh, recentUpTo)
}

// resync brings a view whose journal entries were pruned up to date
// from the message table: expunges, then new messages, then flag
// changes (the order they happened in is no longer known).
func (m *Mailbox) resync(ctx context.Context, recentUpTo int64) ([]store.Change, error) {
	var fresh []msg
	var un, hms int64
	err := pgx.BeginTxFunc(ctx, m.b.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT uidnext, highestmodseq FROM pgstore_mailboxes WHERE id = $1`, m.id).Scan(&un, &hms); err != nil {
			return err
		}
		var err error
		fresh, err = readMessages(ctx, tx, m.id)
		return err
	})
	if err != nil {
		return nil, dbErr("resync", err)
	}
	now := make(map[uint32]int, len(fresh))
	for i, x := range fresh {
		now[x.uid] = i
	}
	var changes []store.Change
	for _, x := range m.msgs {
		if _, ok := now[x.uid]; !ok {
			changes = append(changes, store.Change{Kind: store.ChangeExpunge, UID: x.uid})
		}
	}
	var flagChanges []store.Change
	var added []msg
	for _, x := range fresh {
		i := m.find(x.uid)
		switch {
		case i < 0:
			added = append(added, x)
			changes = append(changes, store.Change{Kind: store.ChangeNew, UID: x.uid, Message: x.info()})
		case x.modseq > m.msgs[i].modseq:
			flagChanges = append(flagChanges, store.Change{Kind: store.ChangeFlags, UID: x.uid, Message: m.info(&x)})
		}
	}
	m.msgs, m.known, m.uidNext = fresh, max(m.known, uint64(hms)), max(m.uidNext, uint32(un))
	return m.reportNew(ctx, append(changes, flagChanges...), added, recentUpTo)
}

// firstPoll reads the view of a handle that has shown nothing yet and
// reports what changed since it was opened, as if the view had been
// read then: messages expunged since (from the journal), messages
// added since (UID at or above the UIDNEXT seen at open) and flag
// changes since (modseq above the one seen at open). A journal pruned
// past the open point loses only the expunges, of messages the caller
// never saw.
func (m *Mailbox) firstPoll(ctx context.Context) ([]store.Change, error) {
	openModSeq, openNext := m.known, m.uidNext
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if m.known <= openModSeq {
		return nil, nil
	}
	var changes []store.Change
	rows, err := m.b.pool.Query(ctx, `SELECT uid FROM pgstore_journal WHERE mailbox_id = $1 AND modseq > $2 AND kind = $3 AND uid < $4
		ORDER BY modseq, id`, m.id, int64(openModSeq), journalExpunge, int64(openNext))
	if err != nil {
		return nil, dbErr("poll", err)
	}
	gone, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, dbErr("poll", err)
	}
	for _, u := range gone {
		if m.find(uint32(u)) < 0 {
			changes = append(changes, store.Change{Kind: store.ChangeExpunge, UID: uint32(u)})
		}
	}
	for i := range m.msgs {
		x := &m.msgs[i]
		switch {
		case x.uid >= openNext:
			changes = append(changes, store.Change{Kind: store.ChangeNew, UID: x.uid, Message: m.info(x)})
		case x.modseq > openModSeq:
			changes = append(changes, store.Change{Kind: store.ChangeFlags, UID: x.uid, Message: m.info(x)})
		}
	}
	return changes, nil
}
