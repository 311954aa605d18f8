package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/blob"
)

// GCStats reports what CollectGarbage removed.
type GCStats struct {
	Blobs          int // bodies deleted from the blob store
	JournalEntries int64
}

// CollectGarbage removes bodies no message refers to any more (after
// expunge, mailbox or user deletion, or an append that crashed between
// its Put and its commit) once they are older than Options.BlobGrace,
// and journal entries older than Options.JournalRetention. It is safe to
// run from any number of processes at once and while appends run: see
// the package documentation for the argument.
func (b *Backend) CollectGarbage(ctx context.Context) (GCStats, error) {
	var st GCStats
	grace := b.opts.blobGrace()
	ctx2, cancel := b.opCtx(ctx)
	tag, err := b.pool.Exec(ctx2, `WITH d AS (DELETE FROM pgstore_journal WHERE created < now() - $1::interval RETURNING mailbox_id, modseq)
		UPDATE pgstore_mailboxes m SET journal_floor = greatest(m.journal_floor, x.mx)
		FROM (SELECT mailbox_id, max(modseq) AS mx FROM d GROUP BY mailbox_id) x WHERE m.id = x.mailbox_id`,
		b.opts.journalRetention())
	cancel()
	if err != nil {
		return st, dbErr("prune journal", err)
	}
	_ = tag
	// SyncDeliveries rows of Backends gone for a day.
	ctx2, cancel = b.opCtx(ctx)
	_, err = b.pool.Exec(ctx2, `DELETE FROM pgstore_sync WHERE touched < now() - interval '1 day'`)
	cancel()
	if err != nil {
		return st, dbErr("prune sync rows", err)
	}
	// Derived data whose body is no longer referenced at all (a
	// SetMessageData that raced an expunge and the collector).
	ctx2, cancel = b.opCtx(ctx)
	_, err = b.pool.Exec(ctx2, `DELETE FROM pgstore_body_data d WHERE NOT EXISTS (SELECT 1 FROM pgstore_blob_refs r WHERE r.key = d.key)`)
	cancel()
	if err != nil {
		return st, dbErr("prune derived data", err)
	}
	// Candidates: reference rows nothing names, and blobs without a
	// reference row (whose append crashed before touching it: cannot
	// happen with this package, but another writer might).
	var cands []string
	ctx2, cancel = b.opCtx(ctx)
	rows, err := b.pool.Query(ctx2, `SELECT key FROM pgstore_blob_refs r WHERE touched < now() - $1::interval
		AND NOT EXISTS (SELECT 1 FROM pgstore_messages m WHERE m.blob_key = r.key)`, grace)
	if err == nil {
		cands, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	cancel()
	if err != nil {
		return st, dbErr("find garbage", err)
	}
	known := map[string]bool{}
	for _, k := range cands {
		known[k] = true
	}
	cutoff := time.Now().Add(-grace)
	var unrefd []string
	err = b.blobs.List(ctx, func(bi blob.Info) error {
		if !known[bi.Key] && bi.Created.Before(cutoff) {
			unrefd = append(unrefd, bi.Key)
		}
		return nil
	})
	if err != nil {
		return st, dbErr("list blobs", err)
	}
	if len(unrefd) > 0 {
		ctx2, cancel = b.opCtx(ctx)
		rows, err := b.pool.Query(ctx2, `SELECT k FROM unnest($1::text[]) AS k WHERE NOT EXISTS (SELECT 1 FROM pgstore_blob_refs r WHERE r.key = k)`, unrefd)
		var extra []string
		if err == nil {
			extra, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		cancel()
		if err != nil {
			return st, dbErr("find garbage", err)
		}
		cands = append(cands, extra...)
	}
	for _, key := range cands {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		deleted, err := b.collectOne(ctx, key, grace)
		if err != nil {
			return st, err
		}
		if deleted {
			st.Blobs++
		}
	}
	return st, nil
}

var errKeep = errors.New("keep")

// collectOne deletes one body if, under its reference row's lock, it is
// still old and unreferenced. Appends touch the row (waiting for this
// lock) before their Put and check its epoch under FOR SHARE before
// their commit; copies take FOR SHARE on it too.
func (b *Backend) collectOne(ctx context.Context, key string, grace time.Duration) (bool, error) {
	ctx, cancel := b.opCtx(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO pgstore_blob_refs (key, touched) VALUES ($1, '-infinity') ON CONFLICT DO NOTHING`, key); err != nil {
			return err
		}
		var young, used bool
		if err := tx.QueryRow(ctx, `SELECT touched >= now() - $2::interval FROM pgstore_blob_refs WHERE key = $1 FOR UPDATE`, key, grace).Scan(&young); err != nil {
			return err
		}
		if young {
			return errKeep
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pgstore_messages WHERE blob_key = $1)`, key).Scan(&used); err != nil {
			return err
		}
		if used {
			return errKeep
		}
		if err := b.blobs.Delete(ctx, key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pgstore_body_data WHERE key = $1`, key); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM pgstore_blob_refs WHERE key = $1`, key)
		return err
	})
	if errors.Is(err, errKeep) {
		return false, nil
	}
	if err != nil {
		return false, dbErr("collect body", err)
	}
	return true, nil
}
