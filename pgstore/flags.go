package pgstore

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/store"
)

// lockMailbox takes the mailbox's row lock (every writer takes it first,
// so writers of one mailbox are serialised and modseqs commit in order)
// and allocates the next modseq. A rolled-back transaction gives it back.
func lockMailbox(ctx context.Context, tx pgx.Tx, id int64) (uint64, error) {
	var ms int64
	err := tx.QueryRow(ctx, `UPDATE pgstore_mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq`, id).Scan(&ms)
	return uint64(ms), err
}

// SetFlags implements store.Mailbox. Only messages in the handle's view
// are changed. Every changed message gets the same new modseq.
func (m *Mailbox) SetFlags(ctx context.Context, uids store.UIDSet, op store.FlagOp, flags store.Flags, unchangedSince uint64) ([]store.FlagUpdate, store.UIDSet, error) {
	if err := m.usable(true); err != nil {
		return nil, nil, err
	}
	if err := validKeywords(flags.Keywords); err != nil {
		return nil, nil, err
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	if err := m.load(ctx); err != nil {
		return nil, nil, err
	}
	target := m.viewUIDs(uids)
	if len(target) == 0 {
		return nil, nil, nil
	}
	type change struct {
		uid   uint32
		flags store.Flags
		same  bool
	}
	var changes []change
	var failed store.UIDSet
	var modseq uint64
	err := pgx.BeginFunc(ctx, m.b.pool, func(tx pgx.Tx) error {
		changes, failed = nil, nil
		var err error
		if modseq, err = lockMailbox(ctx, tx, m.id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT uid, flags, keywords, modseq FROM pgstore_messages WHERE mailbox_id = $1 AND uid = ANY($2) ORDER BY uid`, m.id, target)
		if err != nil {
			return err
		}
		var cuid []int64
		var cflags []int32
		var ckw []string
		for rows.Next() {
			var uid, ms int64
			var f int32
			var kw []string
			if err := rows.Scan(&uid, &f, &kw, &ms); err != nil {
				rows.Close()
				return err
			}
			if unchangedSince > 0 && uint64(ms) > unchangedSince {
				failed.Add(uint32(uid))
				continue
			}
			old := store.Flags{System: store.SystemFlags(f), Keywords: kw}
			nf := old.Apply(op, flags)
			if nf.Equal(old) {
				if op == store.FlagsReplace {
					changes = append(changes, change{uid: uint32(uid), flags: old, same: true})
				}
				continue
			}
			changes = append(changes, change{uid: uint32(uid), flags: nf})
			cuid = append(cuid, uid)
			cflags = append(cflags, int32(nf.System))
			ckw = append(ckw, strings.Join(nf.Keywords, " "))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(cuid) == 0 {
			return errNothing
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE pgstore_messages t SET flags = u.flags, keywords = string_to_array(u.kw, ' '), modseq = $2
			FROM unnest($3::bigint[], $4::integer[], $5::text[]) AS u(uid, flags, kw)
			WHERE t.mailbox_id = $1 AND t.uid = u.uid`, m.id, int64(modseq), cuid, cflags, ckw)
		b.Queue(`INSERT INTO pgstore_journal (mailbox_id, modseq, kind, uid, origin, flags, keywords)
			SELECT $1, $2, 2, u.uid, $6, u.flags, string_to_array(u.kw, ' ')
			FROM unnest($3::bigint[], $4::integer[], $5::text[]) AS u(uid, flags, kw)`, m.id, int64(modseq), cuid, cflags, ckw, m.origin)
		b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(m.id, m.origin))
		return tx.SendBatch(ctx, b).Close()
	})
	if err == errNothing {
		err = nil
		modseq = 0
	}
	if err != nil {
		return nil, nil, dbErr("store flags", err)
	}
	var updated []store.FlagUpdate
	for _, c := range changes {
		i := m.find(c.uid)
		if i < 0 {
			continue
		}
		x := &m.msgs[i]
		if !c.same {
			x.flags, x.keywords, x.modseq = c.flags.System, c.flags.Keywords, modseq
		}
		updated = append(updated, store.FlagUpdate{UID: c.uid, Flags: store.Flags{System: x.flags, Keywords: x.keywords}, ModSeq: x.modseq})
	}
	if modseq > 0 {
		m.own(modseq)
	}
	return updated, failed, nil
}

// errNothing rolls back a transaction that found nothing to change (so
// the modseq it allocated is not spent).
var errNothing = errorString("pgstore: nothing to change")

type errorString string

func (e errorString) Error() string { return string(e) }

// Expunge implements store.Mailbox: the view's messages in uids that
// have \Deleted set are removed, with one modseq.
func (m *Mailbox) Expunge(ctx context.Context, uids store.UIDSet) ([]uint32, error) {
	if err := m.usable(true); err != nil {
		return nil, err
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	// Every view message in uids is a candidate; the \Deleted flag as
	// stored decides (another session may have set or cleared it).
	target := m.viewUIDs(uids)
	if len(target) == 0 {
		return nil, nil
	}
	var gone []uint32
	var modseq uint64
	err := pgx.BeginFunc(ctx, m.b.pool, func(tx pgx.Tx) error {
		var err error
		gone, modseq, err = expungeTx(ctx, tx, m.id, target, true, m.origin)
		return err
	})
	if err == errNothing {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr("expunge", err)
	}
	m.own(modseq)
	m.removeView(gone)
	return gone, nil
}

// expungeTx deletes the messages of mailbox id with the given UIDs (and
// \Deleted set, with onlyDeleted) under one new modseq, journals and
// announces it, and returns the UIDs removed (ascending). With none it
// returns errNothing.
func expungeTx(ctx context.Context, tx pgx.Tx, id int64, uids []int64, onlyDeleted bool, origin int64) ([]uint32, uint64, error) {
	modseq, err := lockMailbox(ctx, tx, id)
	if err != nil {
		return nil, 0, err
	}
	mask := int32(0)
	if onlyDeleted {
		mask = int32(store.Deleted)
	}
	rows, err := tx.Query(ctx, `WITH d AS (DELETE FROM pgstore_messages WHERE mailbox_id = $1 AND uid = ANY($2) AND flags & $3 = $3 RETURNING uid, size)
		SELECT uid, size FROM d ORDER BY uid`, id, uids, mask)
	if err != nil {
		return nil, 0, err
	}
	var gone []uint32
	var del []int64
	var size int64
	for rows.Next() {
		var uid, sz int64
		if err := rows.Scan(&uid, &sz); err != nil {
			rows.Close()
			return nil, 0, err
		}
		gone, del, size = append(gone, uint32(uid)), append(del, uid), size+sz
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(gone) == 0 {
		return nil, 0, errNothing
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE pgstore_mailboxes SET messages = messages - $2, size = size - $3 WHERE id = $1`, id, int64(len(del)), size)
	b.Queue(`INSERT INTO pgstore_journal (mailbox_id, modseq, kind, uid, origin) SELECT $1, $2, 3, u, $4 FROM unnest($3::bigint[]) AS u`,
		id, int64(modseq), del, origin)
	b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(id, origin))
	return gone, modseq, tx.SendBatch(ctx, b).Close()
}
