package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/store"
)

// The store.Replica methods, so a replicator (package replicate) keeps
// UIDs, UIDVALIDITY and GUIDs identical with a partner server. Each
// commits in one transaction under the mailbox row's lock, like every
// other writer, and is durable when it returns.

var _ store.Replica = (*Store)(nil)

// maxReplicaGUID bounds a GUID kept as given.
const maxReplicaGUID = 255

func validReplicaGUID(g string) bool {
	if g == "" || len(g) > maxReplicaGUID {
		return false
	}
	for i := 0; i < len(g); i++ {
		if g[i] < ' ' || g[i] == 0x7f {
			return false
		}
	}
	return true
}

// lockByName locks the user's mailbox name and returns its id,
// UIDVALIDITY, UIDNEXT and message count.
func (s *Store) lockByName(ctx context.Context, tx pgx.Tx, name string) (id, uv, un, n int64, err error) {
	err = tx.QueryRow(ctx, `SELECT id, uidvalidity, uidnext, messages FROM pgstore_mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE`,
		s.userID, name).Scan(&id, &uv, &un, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("pgstore: %q: %w", name, store.ErrNoSuchMailbox)
	}
	return
}

// ReplicaAppend implements store.Replica.
func (s *Store) ReplicaAppend(ctx context.Context, mailbox string, r io.Reader, opts store.ReplicaAppendOptions) (store.AppendResult, error) {
	name, err := checkName(mailbox)
	if err != nil {
		return store.AppendResult{}, err
	}
	if opts.UID == 0 {
		return store.AppendResult{}, fmt.Errorf("pgstore: UID 0: %w", store.ErrUIDNotAvailable)
	}
	if !validReplicaGUID(opts.GUID) {
		return store.AppendResult{}, fmt.Errorf("pgstore: GUID %q: %w", opts.GUID, store.ErrInvalidGUID)
	}
	if err := validKeywords(opts.Flags.Keywords); err != nil {
		return store.AppendResult{}, err
	}
	sp, err := spool(r, s.b.opts.spoolMemory(), s.b.opts.MaxMessageSize, s.b.opts.TempDir)
	if err != nil {
		return store.AppendResult{}, err
	}
	defer sp.Close()
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	if err := s.checkQuota(ctx, sp.crlfSize, 1); err != nil {
		return store.AppendResult{}, err
	}
	flags, kw, internal := newMessageFields(opts.Flags, opts.InternalDate)
	for attempt := 0; ; attempt++ {
		epoch, err := s.b.putBody(ctx, sp)
		if err != nil {
			return store.AppendResult{}, err
		}
		var res store.AppendResult
		err = pgx.BeginFunc(ctx, s.b.pool, func(tx pgx.Tx) error {
			id, uv, un, _, err := s.lockByName(ctx, tx, name)
			if err != nil {
				return err
			}
			if int64(opts.UID) < un {
				return fmt.Errorf("pgstore: UID %d below UIDNEXT %d: %w", opts.UID, un, store.ErrUIDNotAvailable)
			}
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pgstore_blob_refs WHERE key = $1 AND epoch = $2 FOR SHARE)`, sp.key, epoch).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return errBlobRace
			}
			var modseq int64
			var save time.Time
			if err := tx.QueryRow(ctx, `UPDATE pgstore_mailboxes SET uidnext = $2 + 1, highestmodseq = highestmodseq + 1,
				messages = messages + 1, size = size + $3 WHERE id = $1 RETURNING highestmodseq, now()`,
				id, int64(opts.UID), sp.crlfSize).Scan(&modseq, &save); err != nil {
				return err
			}
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, id, int64(opts.UID), modseq, int32(flags.System), kw, internal, save, sp.crlfSize, opts.GUID, sp.key)
			b.Queue(`INSERT INTO pgstore_journal (mailbox_id, modseq, kind, uid, origin, flags, keywords, internal_date, save_date, size, guid)
				VALUES ($1, $2, 1, $3, 0, $4, $5, $6, $7, $8, $9)`, id, modseq, int64(opts.UID), int32(flags.System), kw, internal, save, sp.crlfSize, opts.GUID)
			b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(id, 0))
			res = store.AppendResult{UIDValidity: uint32(uv), UID: opts.UID}
			return tx.SendBatch(ctx, b).Close()
		})
		if errors.Is(err, errBlobRace) && attempt < 3 {
			continue
		}
		return res, dbErr("replica append", err)
	}
}

// ReplicaSetUIDNext implements store.Replica.
func (s *Store) ReplicaSetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error {
	name, err := checkName(mailbox)
	if err != nil {
		return err
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	err = pgx.BeginFunc(ctx, s.b.pool, func(tx pgx.Tx) error {
		id, _, un, _, err := s.lockByName(ctx, tx, name)
		if err != nil || int64(uidNext) <= un {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE pgstore_mailboxes SET uidnext = $2 WHERE id = $1`, id, int64(uidNext))
		return err
	})
	return dbErr("replica set UIDNEXT", err)
}

// ReplicaRenumber implements store.Replica. The messages get their new
// UIDs in one transaction; the mailbox's journal is emptied (its UIDs
// meant the old numbering) and open handles see
// store.ChangeUIDValidity at their next Poll.
func (s *Store) ReplicaRenumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error {
	name, err := checkName(mailbox)
	if err != nil {
		return err
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	err = pgx.BeginFunc(ctx, s.b.pool, func(tx pgx.Tx) error {
		id, uv, un, n, err := s.lockByName(ctx, tx, name)
		if err != nil {
			return err
		}
		pristine := n == 0 && un <= 1
		if uidValidity == 0 || (int64(uidValidity) <= uv && !pristine) {
			return fmt.Errorf("pgstore: UIDVALIDITY %d not above %d: %w", uidValidity, uv, store.ErrUIDNotAvailable)
		}
		rows, err := tx.Query(ctx, `SELECT uid, guid FROM pgstore_messages WHERE mailbox_id = $1 ORDER BY uid`, id)
		if err != nil {
			return err
		}
		type rec struct {
			old  int64
			guid string
		}
		var recs []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.old, &r.guid); err != nil {
				rows.Close()
				return err
			}
			recs = append(recs, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		next := int64(uidNext)
		for _, u := range uids {
			next = max(next, int64(u)+1)
		}
		seen := map[uint32]bool{}
		var olds, news []int64
		var rest []rec
		for _, r := range recs {
			if u, ok := uids[r.guid]; ok && u != 0 && !seen[u] {
				seen[u] = true
				olds, news = append(olds, r.old), append(news, int64(u))
				continue
			}
			rest = append(rest, r)
		}
		sort.Slice(rest, func(i, j int) bool { return rest[i].old < rest[j].old })
		for _, r := range rest {
			olds, news = append(olds, r.old), append(news, next)
			next++
		}
		b := &pgx.Batch{}
		// Through negative UIDs, so no two rows ever share one.
		b.Queue(`UPDATE pgstore_messages SET uid = -uid WHERE mailbox_id = $1`, id)
		b.Queue(`UPDATE pgstore_messages m SET uid = n.new FROM unnest($2::bigint[], $3::bigint[]) AS n(old, new)
			WHERE m.mailbox_id = $1 AND m.uid = -n.old`, id, olds, news)
		b.Queue(`DELETE FROM pgstore_journal WHERE mailbox_id = $1`, id)
		b.Queue(`UPDATE pgstore_mailboxes SET uidvalidity = $2, uidnext = $3, highestmodseq = highestmodseq + 1,
			journal_floor = highestmodseq + 1, recent_upto = $3 - 1 WHERE id = $1`, id, int64(uidValidity), next)
		b.Queue(`UPDATE pgstore_users SET last_uidvalidity = greatest(last_uidvalidity, $2) WHERE id = $1`, s.userID, int64(uidValidity))
		b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(id, 0))
		return tx.SendBatch(ctx, b).Close()
	})
	return dbErr("replica renumber", err)
}
