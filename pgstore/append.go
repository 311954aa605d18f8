package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/store"
)

// validKeywords checks that each keyword is an IMAP atom without "\".
func validKeywords(kws []string) error {
	for _, k := range kws {
		if k == "" || len(k) > 250 {
			return fmt.Errorf("pgstore: keyword %q: %w", k, store.ErrKeywordInvalid)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
				return fmt.Errorf("pgstore: keyword %q: %w", k, store.ErrKeywordInvalid)
			}
		}
	}
	return nil
}

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// putBody makes sp's body durable in the blob store and returns the
// epoch of its reference row. The row is touched before the Put, so a
// garbage collector that has not yet locked it sees it as young and
// leaves it; one that had locked it is waited for, and its Delete comes
// before our Put.
func (b *Backend) putBody(ctx context.Context, sp *spooled) (int64, error) {
	var epoch int64
	// Committed asynchronously: it matters only while the append runs,
	// and the append's own (synchronous) commit flushes it.
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SET LOCAL synchronous_commit = off`)
		b.Queue(`INSERT INTO pgstore_blob_refs (key, touched) VALUES ($1, now())
			ON CONFLICT (key) DO UPDATE SET touched = now() RETURNING epoch`, sp.key).QueryRow(func(row pgx.Row) error { return row.Scan(&epoch) })
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, dbErr("reference body", err)
	}
	r, err := sp.reader()
	if err != nil {
		return 0, fmt.Errorf("pgstore: spool: %w: %w", store.ErrTemporary, err)
	}
	if err := b.blobs.Put(ctx, sp.key, r, sp.size); err != nil {
		return 0, dbErr("store body", err)
	}
	return epoch, nil
}

// errBlobRace: the body's reference row changed between Put and the
// commit (a garbage collector removed it): store the body again.
var errBlobRace = errors.New("pgstore: body collected before its row committed")

// appendSQL allocates the UID and modseq, inserts the message and its
// journal entry and announces it, in one statement. It inserts nothing
// unless the body's reference row still has the epoch read before the
// Put (locked FOR SHARE, so the collector cannot take it meanwhile).
const appendSQL = `
WITH r AS (SELECT key FROM pgstore_blob_refs WHERE key = $7 AND epoch = $9 FOR SHARE),
m AS (UPDATE pgstore_mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1,
		messages = messages + 1, size = size + $2,
		recent_upto = CASE WHEN $10 THEN uidnext ELSE recent_upto END
	WHERE id = $1 AND EXISTS (SELECT 1 FROM r)
	RETURNING uidnext - 1 AS uid, highestmodseq AS modseq, uidvalidity, now() AS save_date),
ins AS (INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
	SELECT $1, uid, modseq, $3, $4, $5, save_date, $2, $6, $7 FROM m),
j AS (INSERT INTO pgstore_journal (mailbox_id, modseq, kind, uid, origin, flags, keywords, internal_date, save_date, size, guid)
	SELECT $1, modseq, 1, uid, $8, $3, $4, $5, save_date, $2, $6 FROM m)
SELECT uid, modseq, uidvalidity, save_date, pg_notify('` + notifyChannel + `', $1::text || ':' || $8::text) FROM m`

// appendInlineSQL is appendSQL for a body of at most one chunk kept in
// the same database's BlobStore: the reference row, the body and the
// message commit in one statement (one round trip, one synchronous
// commit). The upsert holds the reference row's lock until commit, so
// the collector either finished before (and the body is inserted anew)
// or waits and then sees the message.
const appendInlineSQL = `
WITH r AS (INSERT INTO pgstore_blob_refs (key, touched) VALUES ($7, now())
		ON CONFLICT (key) DO UPDATE SET touched = now() RETURNING key),
c AS (INSERT INTO pgstore_blob_chunks (key, seq, data) SELECT key, 0, $9 FROM r ON CONFLICT DO NOTHING),
bl AS (INSERT INTO pgstore_blobs (key, size) SELECT key, $10 FROM r ON CONFLICT DO NOTHING),
m AS (UPDATE pgstore_mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1,
		messages = messages + 1, size = size + $2,
		recent_upto = CASE WHEN $11 THEN uidnext ELSE recent_upto END
	WHERE id = $1 AND EXISTS (SELECT 1 FROM r)
	RETURNING uidnext - 1 AS uid, highestmodseq AS modseq, uidvalidity, now() AS save_date),
ins AS (INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
	SELECT $1, uid, modseq, $3, $4, $5, save_date, $2, $6, $7 FROM m),
j AS (INSERT INTO pgstore_journal (mailbox_id, modseq, kind, uid, origin, flags, keywords, internal_date, save_date, size, guid)
	SELECT $1, modseq, 1, uid, $8, $3, $4, $5, save_date, $2, $6 FROM m)
SELECT uid, modseq, uidvalidity, save_date, pg_notify('` + notifyChannel + `', $1::text || ':' || $8::text) FROM m`

// inline reports whether sp can take appendInlineSQL.
func (b *Backend) inline(sp *spooled) bool {
	bs, ok := b.blobs.(*BlobStore)
	return ok && bs.sameDB && sp.file == nil && sp.size <= chunkSize
}

// Append implements store.Mailbox. The body is read to the end and
// stored (durably) in the blob store first; then one statement assigns
// the UID and inserts the row, so no UID is ever seen without its body
// and a failed append leaves no gap in the UIDs.
func (m *Mailbox) Append(ctx context.Context, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	if err := m.usable(true); err != nil {
		return store.AppendResult{}, err
	}
	if err := validKeywords(opts.Flags.Keywords); err != nil {
		return store.AppendResult{}, err
	}
	sp, err := spool(r, m.b.opts.spoolMemory(), m.b.opts.MaxMessageSize, m.b.opts.TempDir)
	if err != nil {
		return store.AppendResult{}, err
	}
	defer sp.Close()
	return m.appendSpooled(ctx, sp, opts)
}

// appendSpooled is Append of a body already spooled.
func (m *Mailbox) appendSpooled(ctx context.Context, sp *spooled, opts store.AppendOptions) (store.AppendResult, error) {
	if err := m.usable(true); err != nil {
		return store.AppendResult{}, err
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	if err := m.s.checkQuota(ctx, sp.crlfSize, 1); err != nil {
		return store.AppendResult{}, err
	}
	flags, kw, internal := newMessageFields(opts.Flags, opts.InternalDate)
	guid := newGUID()
	if m.b.opts.Derive != nil {
		m.b.derive(ctx, sp)
	}
	// A writable handle that shows its view takes its own new message
	// as \Recent (the session sees it first).
	claim := m.loaded && !m.ro
	var err error
	for attempt := 0; ; attempt++ {
		var uid, modseq, uv int64
		var save time.Time
		var ignored string
		if m.b.inline(sp) {
			if sp.mem == nil {
				sp.mem = []byte{}
			}
			err = m.b.pool.QueryRow(ctx, appendInlineSQL, m.id, sp.crlfSize, int32(flags.System), kw, internal, guid, sp.key, m.origin, sp.mem, sp.size, claim).
				Scan(&uid, &modseq, &uv, &save, &ignored)
		} else {
			var epoch int64
			epoch, err = m.b.putBody(ctx, sp)
			if err != nil {
				return store.AppendResult{}, err
			}
			if h := m.b.testHookBeforeCommit; h != nil {
				h()
			}
			err = m.b.pool.QueryRow(ctx, appendSQL, m.id, sp.crlfSize, int32(flags.System), kw, internal, guid, sp.key, m.origin, epoch, claim).
				Scan(&uid, &modseq, &uv, &save, &ignored)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			err = m.whyNoRow(ctx)
			if errors.Is(err, errBlobRace) && attempt < 3 {
				continue
			}
		}
		if err != nil {
			return store.AppendResult{}, dbErr("append", err)
		}
		res := store.AppendResult{UIDValidity: uint32(uv), UID: uint32(uid)}
		m.own(uint64(modseq))
		if uint32(uv) == m.uidValidity {
			m.uidNext = max(m.uidNext, uint32(uid)+1)
			if claim {
				m.recent.Add(uint32(uid))
			}
			if m.loaded {
				m.insertView(msg{uid: uint32(uid), flags: flags.System, modseq: uint64(modseq), size: sp.crlfSize,
					keywords: flags.Keywords, internal: internal, save: save, guid: guid})
			}
		}
		return res, nil
	}
}

// whyNoRow tells apart the two reasons appendSQL inserts nothing.
func (m *Mailbox) whyNoRow(ctx context.Context) error {
	var exists bool
	if err := m.b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pgstore_mailboxes WHERE id = $1)`, m.id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		m.gone = true
		return fmt.Errorf("pgstore: %q: %w", m.name, store.ErrMailboxGone)
	}
	return errBlobRace
}

// checkQuota fails with store.ErrQuotaExceeded when adding n messages
// of size bytes in all would go over a limit.
func (s *Store) checkQuota(ctx context.Context, size, n int64) error {
	if s.b.opts.QuotaStorage <= 0 && s.b.opts.QuotaMessages <= 0 {
		return nil
	}
	q, err := s.usage(ctx, s.b.pool)
	if err != nil {
		return dbErr("quota", err)
	}
	if (q.StorageLimit > 0 && q.StorageUsed+size > q.StorageLimit) || (q.MessagesLimit > 0 && q.MessagesUsed+n > q.MessagesLimit) {
		return fmt.Errorf("pgstore: %w (%d of %d bytes, %d of %d messages)", store.ErrQuotaExceeded,
			q.StorageUsed, q.StorageLimit, q.MessagesUsed, q.MessagesLimit)
	}
	return nil
}

// newMessageFields returns an appended message's flags, its keywords as
// stored (never nil) and its internal date (now when zero).
func newMessageFields(f store.Flags, date time.Time) (store.Flags, []string, time.Time) {
	flags := store.Flags{}.Apply(store.FlagsReplace, f)
	kw := flags.Keywords
	if kw == nil {
		kw = []string{}
	}
	if date.IsZero() {
		date = time.Now()
	}
	return flags, kw, date
}
