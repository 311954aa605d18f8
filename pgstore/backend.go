package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/store"
)

// DefaultMaxConns is the connection pool size Open uses when the connect
// string has no pool_max_conns.
const DefaultMaxConns = 16

// Backend opens users' mail stores kept in one PostgreSQL database. It
// is safe for concurrent use; any number of Backends, in any number of
// processes, may share the database.
type Backend struct {
	pool     *pgxpool.Pool
	ownsPool bool
	blobs    blob.Store
	opts     Options
	log      *slog.Logger
	hub      *hub
	stop     context.CancelFunc
	wg       sync.WaitGroup

	mu     sync.Mutex
	closed bool

	deliveries group[delivery]   // Store.Deliver's group commit
	syncs      group[syncWaiter] // SyncDeliveries's
	syncID     int64             // this Backend's pgstore_sync row
	userIDs    idCache           // user name → pgstore_users.id

	// sessionLockCheck replaces sessionLockCheck when set (tests).
	sessionLockCheck time.Duration

	// testHookBeforeCommit runs between an append's Put and its commit
	// (tests only: a collector run placed in the window).
	testHookBeforeCommit func()
	// testHookDeliverBatch runs before each delivery transaction with
	// its size (tests only).
	testHookDeliverBatch func(n int)
}

var _ store.Backend = (*Backend)(nil)

// Open connects to the database named by connString (a libpq
// keyword/value string or a postgres:// URL), applies the schema
// migrations this binary knows and starts listening for changes. It
// refuses a database whose schema is newer than the binary.
func Open(ctx context.Context, connString string, opts Options) (*Backend, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect string: %w", err)
	}
	if !strings.Contains(connString, "pool_max_conns") {
		// pgxpool's default (4 on this kind of machine) would queue a
		// busy server's sessions behind each other.
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	b, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	b.ownsPool = true
	return b, nil
}

// New returns a Backend on an open pool (which the caller closes after
// the Backend), applying migrations as Open does.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	mctx, cancel := context.WithTimeout(ctx, opts.opTimeout())
	defer cancel()
	if err := migrate(mctx, pool); err != nil {
		return nil, err
	}
	b := &Backend{pool: pool, blobs: opts.Blobs, opts: opts, log: log, syncID: newOrigin()}
	b.deliveries.max, b.deliveries.parallel = maxDeliveryBatch, deliveryBatches
	if b.blobs == nil {
		bs := NewBlobStore(pool)
		bs.sameDB = true
		b.blobs = bs
	}
	bg, stop := context.WithCancel(context.Background())
	b.stop = stop
	b.hub = newHub(pool.Config().ConnConfig, log)
	b.wg.Add(1)
	go func() { defer b.wg.Done(); b.hub.run(bg) }()
	// Handles opened from now on must not miss a change: wait (bounded)
	// for the LISTEN to be in place. Should it not come, the hub keeps
	// trying and wakes every handle when it succeeds.
	select {
	case <-b.hub.ready:
	case <-mctx.Done():
	}
	if opts.GCInterval > 0 {
		b.wg.Add(1)
		go func() { defer b.wg.Done(); b.gcLoop(bg) }()
	}
	return b, nil
}

// Pool returns the connection pool (for programs that keep their own
// tables, such as a SQL passdb, in the same database).
func (b *Backend) Pool() *pgxpool.Pool { return b.pool }

// Blobs returns the blob store bodies are kept in.
func (b *Backend) Blobs() blob.Store { return b.blobs }

// Close stops listening and, when Open made the pool, closes it.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.stop()
	b.wg.Wait()
	if b.ownsPool {
		b.pool.Close()
	}
	return nil
}

// opCtx bounds one database operation by Options.OpTimeout.
func (b *Backend) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.opts.opTimeout())
}

// Open implements store.Backend: it finds the user's rows, creating the
// user, INBOX and the AutoMailboxes on first use.
func (b *Backend) Open(ctx context.Context, user string) (store.Store, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, store.ErrClosed
	}
	if user == "" || len(user) > 1024 || strings.ContainsRune(user, 0) {
		return nil, fmt.Errorf("pgstore: user name %q: %w", user, store.ErrNoSuchUser)
	}
	if id, ok := b.userIDs.get(user); ok {
		return &Store{b: b, user: user, userID: id}, nil
	}
	ctx, cancel := b.opCtx(ctx)
	defer cancel()
	var id int64
	err := b.pool.QueryRow(ctx, `SELECT id FROM pgstore_users WHERE name = $1`, user).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		id, err = b.createUser(ctx, user)
	}
	if err != nil {
		return nil, dbErr("open user", err)
	}
	b.userIDs.put(user, id)
	return &Store{b: b, user: user, userID: id}, nil
}

func (b *Backend) createUser(ctx context.Context, user string) (int64, error) {
	if b.opts.UserExists != nil {
		ok, err := b.opts.UserExists(ctx, user)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("pgstore: %q: %w", user, store.ErrNoSuchUser)
		}
	}
	var id int64
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO pgstore_users (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id`, user).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// Created meanwhile by another session: use it.
			return tx.QueryRow(ctx, `SELECT id FROM pgstore_users WHERE name = $1`, user).Scan(&id)
		}
		if err != nil {
			return err
		}
		if err := createMailboxTx(ctx, tx, id, store.Inbox, ""); err != nil {
			return err
		}
		for _, am := range b.opts.AutoMailboxes {
			if am.Auto == store.AutoNo || store.ValidateName(am.Name) != nil {
				continue
			}
			name := store.CanonicalName(am.Name)
			if name == store.Inbox {
				continue
			}
			if err := createMailboxTx(ctx, tx, id, name, am.SpecialUse); err != nil {
				return err
			}
			if am.Auto == store.AutoSubscribe {
				if _, err := tx.Exec(ctx, `INSERT INTO pgstore_subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, name); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return id, err
}

// createMailboxTx inserts a mailbox row with a fresh UIDVALIDITY: the
// user's last one plus one, or the current time when that is larger (as
// Dovecot allocates them), so a recreated mailbox never repeats one.
func createMailboxTx(ctx context.Context, tx pgx.Tx, userID int64, name, specialUse string) error {
	var uv int64
	err := tx.QueryRow(ctx, `UPDATE pgstore_users SET last_uidvalidity =
		CASE WHEN last_uidvalidity >= 4294967295 THEN 1
		ELSE greatest(last_uidvalidity + 1, extract(epoch FROM now())::bigint) END
		WHERE id = $1 RETURNING last_uidvalidity`, userID).Scan(&uv)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO pgstore_mailboxes (user_id, name, special_use, uidvalidity) VALUES ($1, $2, $3, $4)`,
		userID, name, specialUse, uv)
	return err
}

func (b *Backend) gcLoop(ctx context.Context) {
	t := time.NewTicker(b.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := b.CollectGarbage(ctx); err != nil && ctx.Err() == nil {
				b.log.Warn("pgstore: garbage collection", "err", err)
			}
		}
	}
}
