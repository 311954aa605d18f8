package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/yubinmail/yubin/store"
)

// Deliver appends a message to the named mailbox without a session's
// handle, as maildir.Store.Deliver: nothing is read of the mailbox and
// nobody takes the message as \Recent, so it is \Recent for the session
// that selects the mailbox next (IMAP APPEND to a mailbox that is not
// selected uses it; RFC 3501 2.3.2). LMTP delivery uses it too.
//
// A body that fits in one chunk of the same database's BlobStore joins
// the deliveries running concurrently in this Backend (to any user):
// they commit in one transaction, sent in one round trip, so one WAL
// flush serves them all (group commit). With opts.NoSync that commit
// is asynchronous and SyncDeliveries makes it durable. Other bodies
// take Append's path.
func (s *Store) Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	name, err := checkName(mailbox)
	if err != nil {
		return store.AppendResult{}, err
	}
	if err := validKeywords(opts.Flags.Keywords); err != nil {
		return store.AppendResult{}, err
	}
	if name != store.Inbox {
		// A caller may try another mailbox with the same reader when
		// this one is missing (LMTP's +detail falls back to INBOX):
		// say so before reading it. INBOX always exists.
		ctx, cancel := s.b.opCtx(ctx)
		_, err := s.lookup(ctx, nil, name)
		cancel()
		if err != nil {
			return store.AppendResult{}, dbErr("deliver", err)
		}
	}
	sp, err := spool(r, s.b.opts.spoolMemory(), s.b.opts.MaxMessageSize, s.b.opts.TempDir)
	if err != nil {
		return store.AppendResult{}, err
	}
	defer sp.Close()
	if !s.b.inline(sp) {
		mb, err := s.OpenMailbox(ctx, name, store.OpenOptions{})
		if err != nil {
			return store.AppendResult{}, err
		}
		defer mb.Close()
		return mb.(*Mailbox).appendSpooled(ctx, sp, opts)
	}
	octx, cancel := s.b.opCtx(ctx)
	defer cancel()
	if err := s.checkQuota(octx, sp.crlfSize, 1); err != nil {
		return store.AppendResult{}, err
	}
	d := &delivery{userID: s.userID, mailbox: name, sp: sp, opts: opts, done: make(chan struct{})}
	if s.b.opts.Derive != nil {
		// Stored by the delivery's own transaction, without a commit
		// (and a WAL flush) of their own.
		d.derived = s.b.deriveData(sp)
	}
	d.flags, d.flags.Keywords, d.internal = newMessageFields(opts.Flags, opts.InternalDate)
	s.b.deliveries.do(d, d.done, s.b.deliverBatch)
	if errors.Is(d.err, pgx.ErrNoRows) {
		return store.AppendResult{}, fmt.Errorf("pgstore: %q: %w", name, store.ErrNoSuchMailbox)
	}
	if d.err != nil {
		return store.AppendResult{}, dbErr("deliver", d.err)
	}
	return d.res, nil
}

// delivery is one message of a delivery batch.
type delivery struct {
	userID   int64
	mailbox  string
	sp       *spooled
	opts     store.AppendOptions
	flags    store.Flags
	internal time.Time
	derived  map[string][]byte // Options.Derive's data for the body

	res  store.AppendResult
	err  error
	done chan struct{}
}

// deliverSQL is appendInlineSQL for a mailbox named by user and name:
// the body, its reference row, the message and its journal entry in
// one statement, UID and modseq allocated under the mailbox row's lock.
const deliverSQL = `
WITH r AS (INSERT INTO pgstore_blob_refs (key, touched) VALUES ($6, now())
		ON CONFLICT (key) DO UPDATE SET touched = now() RETURNING key),
c AS (INSERT INTO pgstore_blob_chunks (key, seq, data) SELECT key, 0, $7 FROM r ON CONFLICT DO NOTHING),
bl AS (INSERT INTO pgstore_blobs (key, size) SELECT key, $8 FROM r ON CONFLICT DO NOTHING),
m AS (UPDATE pgstore_mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1,
		messages = messages + 1, size = size + $3
	WHERE user_id = $1 AND name = $2 AND EXISTS (SELECT 1 FROM r)
	RETURNING id, uidnext - 1 AS uid, highestmodseq AS modseq, uidvalidity, now() AS save_date),
ins AS (INSERT INTO pgstore_messages (mailbox_id, uid, modseq, flags, keywords, internal_date, save_date, size, guid, blob_key)
	SELECT id, uid, modseq, $4, $5, $9, save_date, $3, $10, $6 FROM m),
j AS (INSERT INTO pgstore_journal (mailbox_id, modseq, kind, uid, origin, flags, keywords, internal_date, save_date, size, guid)
	SELECT id, modseq, 1, uid, 0, $4, $5, $9, save_date, $3, $10 FROM m)
SELECT uid, uidvalidity, pg_notify('` + notifyChannel + `', id::text || ':0') FROM m`

// maxDeliveryBatch bounds the messages of one delivery transaction, and
// deliveryBatches the transactions of one Backend at once (batches
// lock mailbox rows in one order: they never deadlock each other).
// More than one batch at a time made batches smaller and cost more CPU
// per delivery in TestSmtpSourcePgstoreDeliveryRate (three at once:
// about 1 transaction per delivery instead of 0.2-0.4, and some 30%
// more CPU in PostgreSQL), with no gain in rate on a busy machine.
const (
	maxDeliveryBatch = 64
	deliveryBatches  = 1
)

// deliverBatch stores a batch of deliveries in one transaction, sent
// in one round trip; the commit is synchronous unless every delivery
// asked for NoSync. Should the database refuse the transaction (a
// deadlock with an IMAP session's, an error in one statement), each
// delivery is tried again alone, so one bad message does not fail the
// others; a database that does not answer fails the batch at once.
func (b *Backend) deliverBatch(batch []*delivery) {
	defer func() {
		for _, d := range batch {
			close(d.done)
		}
	}()
	if h := b.testHookDeliverBatch; h != nil {
		h(len(batch))
	}
	err := b.deliverTx(batch)
	var pgErr *pgconn.PgError
	if err == nil || len(batch) == 1 || !errors.As(err, &pgErr) {
		// Committed, or failed for a reason (a database that does not
		// answer) that trying each alone would only multiply.
		if err != nil {
			for _, d := range batch {
				d.err = err
			}
		}
		return
	}
	for _, d := range batch {
		if err := b.deliverTx([]*delivery{d}); err != nil {
			d.err = err
		}
	}
}

// deliverTx runs one transaction for batch. Its error is the
// transaction's (nothing of the batch committed); otherwise each
// delivery's err is its own (pgx.ErrNoRows: no such mailbox).
func (b *Backend) deliverTx(batch []*delivery) error {
	for _, d := range batch {
		d.res, d.err = store.AppendResult{}, nil
	}
	// One lock order for every batch: no deadlock between two batches.
	sort.SliceStable(batch, func(i, j int) bool {
		if batch[i].userID != batch[j].userID {
			return batch[i].userID < batch[j].userID
		}
		return batch[i].mailbox < batch[j].mailbox
	})
	ctx, cancel := b.opCtx(context.Background())
	defer cancel()
	q := &pgx.Batch{}
	q.Queue(`BEGIN`)
	async := true
	for _, d := range batch {
		async = async && d.opts.NoSync
	}
	if async {
		q.Queue(`SET LOCAL synchronous_commit = off`)
	}
	for _, d := range batch {
		mem := d.sp.mem
		if mem == nil {
			mem = []byte{}
		}
		q.Queue(deliverSQL, d.userID, d.mailbox, d.sp.crlfSize, int32(d.flags.System), d.flags.Keywords,
			d.sp.key, mem, d.sp.size, d.internal, newGUID())
	}
	derived := 0
	for _, d := range batch {
		for name, data := range d.derived {
			q.Queue(insertBodyDataSQL, d.sp.key, name, data)
			derived++
		}
	}
	q.Queue(`COMMIT`)
	br := b.pool.SendBatch(ctx, q)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return err
	}
	if async {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	for _, d := range batch {
		var uid, uv int64
		var ignored string
		d.err = br.QueryRow().Scan(&uid, &uv, &ignored)
		if d.err != nil && !errors.Is(d.err, pgx.ErrNoRows) {
			return d.err
		}
		d.res = store.AppendResult{UIDValidity: uint32(uv), UID: uint32(uid)}
	}
	for range derived {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	tag, err := br.Exec()
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("pgstore: delivery transaction ended %q", tag.String())
	}
	return br.Close()
}

// SyncDeliveries implements store.DeliverySyncer: it makes every
// delivery committed with AppendOptions.NoSync before the call durable.
// PostgreSQL writes its WAL in order, so one synchronous commit flushes
// every asynchronous commit before it; concurrent callers share one.
func (b *Backend) SyncDeliveries(ctx context.Context) error {
	w := &syncWaiter{done: make(chan struct{})}
	b.syncs.do(w, w.done, func(batch []*syncWaiter) {
		octx, cancel := b.opCtx(context.Background())
		defer cancel()
		q := &pgx.Batch{}
		q.Queue(`BEGIN`)
		q.Queue(`SET LOCAL synchronous_commit = on`)
		// A transaction that writes nothing flushes nothing: touch this
		// Backend's own row.
		q.Queue(`INSERT INTO pgstore_sync (backend, n, touched) VALUES ($1, 1, now())
			ON CONFLICT (backend) DO UPDATE SET n = pgstore_sync.n + 1, touched = now()`, b.syncID)
		q.Queue(`COMMIT`)
		err := b.pool.SendBatch(octx, q).Close()
		for _, w := range batch {
			w.err = dbErr("sync deliveries", err)
			close(w.done)
		}
	})
	return w.err
}

type syncWaiter struct {
	err  error
	done chan struct{}
}

var _ store.DeliverySyncer = (*Backend)(nil)
