package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema steps in order; migrations[i] brings the
// database from version i to version i+1. A step is never edited once
// released: a change is a new step.
var migrations = []string{
	// 1: users, mailboxes, subscriptions, messages, the change journal,
	// blob references and the default blob tables.
	`
CREATE TABLE pgstore_users (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE,
	last_uidvalidity bigint NOT NULL DEFAULT 0
);
CREATE TABLE pgstore_mailboxes (
	id bigserial PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES pgstore_users(id) ON DELETE CASCADE,
	name text NOT NULL,
	special_use text NOT NULL DEFAULT '',
	uidvalidity bigint NOT NULL,
	uidnext bigint NOT NULL DEFAULT 1,
	highestmodseq bigint NOT NULL DEFAULT 1,
	messages bigint NOT NULL DEFAULT 0,
	size bigint NOT NULL DEFAULT 0,
	journal_floor bigint NOT NULL DEFAULT 0,
	UNIQUE (user_id, name)
);
CREATE TABLE pgstore_subscriptions (
	user_id bigint NOT NULL REFERENCES pgstore_users(id) ON DELETE CASCADE,
	name text NOT NULL,
	PRIMARY KEY (user_id, name)
);
CREATE TABLE pgstore_messages (
	mailbox_id bigint NOT NULL REFERENCES pgstore_mailboxes(id) ON DELETE CASCADE,
	uid bigint NOT NULL,
	modseq bigint NOT NULL,
	flags integer NOT NULL DEFAULT 0,
	keywords text[] NOT NULL DEFAULT '{}',
	internal_date timestamptz NOT NULL,
	save_date timestamptz NOT NULL,
	size bigint NOT NULL,
	guid text NOT NULL,
	blob_key text NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX pgstore_messages_blob ON pgstore_messages (blob_key);
CREATE TABLE pgstore_journal (
	id bigserial PRIMARY KEY,
	mailbox_id bigint NOT NULL REFERENCES pgstore_mailboxes(id) ON DELETE CASCADE,
	modseq bigint NOT NULL,
	kind smallint NOT NULL,
	uid bigint NOT NULL,
	origin bigint NOT NULL DEFAULT 0,
	flags integer NOT NULL DEFAULT 0,
	keywords text[] NOT NULL DEFAULT '{}',
	internal_date timestamptz,
	save_date timestamptz,
	size bigint NOT NULL DEFAULT 0,
	guid text NOT NULL DEFAULT '',
	created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pgstore_journal_mailbox ON pgstore_journal (mailbox_id, modseq);
CREATE SEQUENCE pgstore_blob_epoch;
CREATE TABLE pgstore_blob_refs (
	key text PRIMARY KEY,
	epoch bigint NOT NULL DEFAULT nextval('pgstore_blob_epoch'),
	touched timestamptz NOT NULL
);
CREATE TABLE pgstore_blobs (
	key text PRIMARY KEY,
	size bigint NOT NULL,
	created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE pgstore_blob_chunks (
	key text NOT NULL,
	seq integer NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (key, seq)
);
`,
	// 2: data derived from a body (store.MessageDataStore), by content.
	`
CREATE TABLE pgstore_body_data (
	key text NOT NULL,
	name text NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (key, name)
);
`,
	// 3: \Recent (the highest UID a writable handle has seen, as
	// Dovecot's first_recent_uid - 1), and the rows SyncDeliveries
	// writes to flush the WAL (one per Backend).
	`
ALTER TABLE pgstore_mailboxes ADD COLUMN IF NOT EXISTS recent_upto bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS pgstore_sync (
	backend bigint PRIMARY KEY,
	n bigint NOT NULL,
	touched timestamptz NOT NULL
);
`,
	// 4: bodies and derived data compressed with LZ4 rather than pglz.
	// On 4 KB slices of English text, pglz took about three times
	// LZ4's CPU in the database (some 120-160 µs more per body), for
	// bodies some 15% smaller; neither compresses base64, and both give
	// up on it as cheaply. Rows already stored keep pglz and read as
	// before. A server built without LZ4 keeps pglz.
	`
DO $$
BEGIN
	ALTER TABLE pgstore_blob_chunks ALTER COLUMN data SET COMPRESSION lz4;
	ALTER TABLE pgstore_body_data ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END
$$;
`,
}

// SchemaVersion is the schema version this package writes and reads.
var SchemaVersion = len(migrations)

// migrateLock is the advisory lock key that serialises migrations of
// several servers starting at once ("pgstore" in ASCII).
const migrateLock = 0x7067_7374_6f72_65

// migrate brings the database schema up to SchemaVersion, one
// transaction per step, under an advisory lock. It refuses a database
// whose schema is newer than this binary.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return dbErr("connect", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return dbErr("lock schema", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS pgstore_schema (version integer NOT NULL)`); err != nil {
		return dbErr("schema table", err)
	}
	var version int
	err = conn.QueryRow(ctx, `SELECT version FROM pgstore_schema`).Scan(&version)
	switch {
	case err == pgx.ErrNoRows:
		if _, err := conn.Exec(ctx, `INSERT INTO pgstore_schema (version) VALUES (0)`); err != nil {
			return dbErr("schema version", err)
		}
	case err != nil:
		return dbErr("schema version", err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("pgstore: the database schema is version %d, newer than this binary's %d: upgrade yubin (refusing to start)", version, SchemaVersion)
	}
	for v := version; v < SchemaVersion; v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE pgstore_schema SET version = $1`, v+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("pgstore: migrating the schema to version %d: %w", v+1, err)
		}
	}
	return nil
}
