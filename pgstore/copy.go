package pgstore

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/store"
)

// Copy implements store.Mailbox. Copies name the same body (no bytes
// are copied) and keep flags, keywords, internal date and GUID.
func (m *Mailbox) Copy(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := m.usable(false); err != nil {
		return store.CopyResult{}, err
	}
	return m.transfer(ctx, uids, dest, false)
}

// Move implements store.Mailbox: the copy and the expunge of the
// sources commit in one transaction.
func (m *Mailbox) Move(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	if err := m.usable(true); err != nil {
		return store.CopyResult{}, err
	}
	return m.transfer(ctx, uids, dest, true)
}

func (m *Mailbox) transfer(ctx context.Context, uids store.UIDSet, dest string, move bool) (store.CopyResult, error) {
	dest, err := checkName(dest)
	if err != nil {
		return store.CopyResult{}, err
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	if err := m.load(ctx); err != nil {
		return store.CopyResult{}, err
	}
	dr, err := m.s.lookup(ctx, nil, dest)
	if err != nil {
		return store.CopyResult{}, dbErr("copy", err)
	}
	target := m.viewUIDs(uids)
	res := store.CopyResult{DestUIDValidity: dr.uidValidity}
	if len(target) == 0 {
		return res, nil
	}
	var copied []msg
	var destMS, srcMS uint64
	claim := dr.id == m.id && !m.ro
	err = pgx.BeginFunc(ctx, m.b.pool, func(tx pgx.Tx) error {
		res = store.CopyResult{DestUIDValidity: dr.uidValidity}
		copied = nil
		// Lock the mailbox rows in id order (no deadlock between a
		// move A->B and one B->A).
		if _, err := tx.Exec(ctx, `SELECT 1 FROM pgstore_mailboxes WHERE id = ANY($1) ORDER BY id FOR UPDATE`, []int64{m.id, dr.id}); err != nil {
			return err
		}
		// The bodies' reference rows are locked FOR SHARE: the garbage
		// collector cannot remove a body between this read and commit.
		rows, err := tx.Query(ctx, `SELECT m.uid, m.flags, m.keywords, m.internal_date, m.size, m.guid, m.blob_key
			FROM pgstore_messages m JOIN pgstore_blob_refs r ON r.key = m.blob_key
			WHERE m.mailbox_id = $1 AND m.uid = ANY($2) ORDER BY m.uid FOR SHARE OF r`, m.id, target)
		if err != nil {
			return err
		}
		var src, fl []int64
		var kws, guids, keys []string
		var dates []time.Time
		var sizes []int64
		var total int64
		for rows.Next() {
			var x msg
			var uid int64
			var f int32
			var key string
			if err := rows.Scan(&uid, &f, &x.keywords, &x.internal, &x.size, &x.guid, &key); err != nil {
				rows.Close()
				return err
			}
			x.uid, x.flags = uint32(uid), store.SystemFlags(f)
			if len(x.keywords) == 0 {
				x.keywords = nil
			}
			copied = append(copied, x)
			src, fl = append(src, uid), append(fl, int64(f))
			kws, guids, keys = append(kws, strings.Join(x.keywords, " ")), append(guids, x.guid), append(keys, key)
			dates, sizes = append(dates, x.internal), append(sizes, x.size)
			total += x.size
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(src) == 0 {
			return errNothing
		}
		if !move {
			if err := m.s.checkQuota(ctx, total, int64(len(src))); err != nil {
				return err
			}
		}
		var first, ms, uv int64
		var save time.Time
		// Copies into the handle's own (writable) mailbox are its \Recent.
		if err := tx.QueryRow(ctx, `UPDATE pgstore_mailboxes SET uidnext = uidnext + $2, highestmodseq = highestmodseq + 1,
			messages = messages + $2, size = size + $3, recent_upto = CASE WHEN $4 THEN uidnext + $2 - 1 ELSE recent_upto END
			WHERE id = $1 RETURNING uidnext - $2, highestmodseq, uidvalidity, now()`,
			dr.id, int64(len(src)), total, claim).Scan(&first, &ms, &uv, &save); err != nil {
			return err
		}
		destMS = uint64(ms)
		res.DestUIDValidity = uint32(uv)
		origin := int64(0)
		if dr.id == m.id {
			origin = m.origin
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
			SELECT $1, $2 + o - 1, $3, f, string_to_array(k, ' '), d, $4, s, g, b
			FROM unnest($5::integer[], $6::text[], $7::timestamptz[], $8::bigint[], $9::text[], $10::text[]) WITH ORDINALITY AS u(f, k, d, s, g, b, o)`,
			dr.id, first, ms, save, fl, kws, dates, sizes, guids, keys)
		b.Queue(`INSERT INTO pgstore_journal (mailbox_id, modseq, kind, uid, origin, flags, keywords, internal_date, save_date, size, guid)
			SELECT $1, $3, 1, $2 + o - 1, $11, f, string_to_array(k, ' '), d, $4, s, g
			FROM unnest($5::integer[], $6::text[], $7::timestamptz[], $8::bigint[], $9::text[], $10::text[]) WITH ORDINALITY AS u(f, k, d, s, g, b, o)`,
			dr.id, first, ms, save, fl, kws, dates, sizes, guids, keys, origin)
		b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(dr.id, origin))
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		for i := range copied {
			res.SourceUIDs = append(res.SourceUIDs, copied[i].uid)
			res.DestUIDs = append(res.DestUIDs, uint32(first)+uint32(i))
			copied[i].uid, copied[i].modseq, copied[i].save = uint32(first)+uint32(i), destMS, save
		}
		if move {
			gone, ms, err := expungeTx(ctx, tx, m.id, src, false, m.origin)
			if err != nil {
				return err
			}
			res.Expunged, srcMS = gone, ms
		}
		return nil
	})
	if err == errNothing {
		return store.CopyResult{DestUIDValidity: dr.uidValidity}, nil
	}
	if err != nil {
		return store.CopyResult{}, dbErr("copy", err)
	}
	if dr.id == m.id {
		m.own(destMS)
		for _, x := range copied {
			if claim {
				m.recent.Add(x.uid)
			}
			m.insertView(x)
			m.uidNext = max(m.uidNext, x.uid+1)
		}
	}
	if move {
		m.own(srcMS)
		m.removeView(res.Expunged)
	}
	return res, nil
}
