// Package pgstore implements the store contract (package store) on
// PostgreSQL 15 through github.com/jackc/pgx/v5, so that any number of
// stateless servers (examples/fullserver with mail_location =
// pgsql:CONNSTRING) serve one user base from one database, each seeing
// the others' changes live. Message bodies go through the blob.Store
// interface: by default into tables of the same database (BlobStore),
// or into any other blob.Store given as Options.Blobs (an S3 store).
//
// # Schema
//
// Versioned migrations (schema.go) are applied by Open/New under an
// advisory lock, one transaction per step; pgstore_schema holds the
// version. A database whose version is newer than the binary's is
// refused with an error that says so.
//
//   - pgstore_users (id, name, last_uidvalidity)
//   - pgstore_mailboxes (id, user_id, name, special_use, uidvalidity,
//     uidnext, highestmodseq, messages, size, journal_floor); names are
//     "/"-separated UTF-8, parents that are not rows are listed \Noselect.
//   - pgstore_subscriptions (user_id, name)
//   - pgstore_messages (mailbox_id, uid, modseq, flags bitmask,
//     keywords text[], internal_date, save_date, size = RFC822.SIZE,
//     guid, blob_key)
//   - pgstore_journal (mailbox_id, modseq, kind new/flags/expunge, uid,
//     origin handle, and the message data a new or flag entry reports)
//   - pgstore_blob_refs (key, epoch, touched): one row per body key the
//     store uses, the garbage collector's lock point
//   - pgstore_blobs, pgstore_blob_chunks: the default blob store
//     (256 KiB chunks, written with COPY: bounded memory at any size)
//
// Every user name, mailbox name and keyword reaches SQL only as a bound
// parameter (TestSQLInjectionNames).
//
// # Implementation notes
//
// Ordering. Every writer of a mailbox first updates its row
// (UIDNEXT/HIGHESTMODSEQ), which takes the row lock until commit; so
// writers of one mailbox are serialised, a UID or modseq is allocated
// and committed in the same transaction (a failure rolls the
// allocation back: no gap, no reuse), and modseqs commit in ascending
// order, which makes "modseq > cursor" a safe journal cursor. One
// operation (an APPEND, a STORE over many messages, an EXPUNGE, a COPY)
// uses one new modseq. A handle's HIGHESTMODSEQ is the larger of its
// cursor and its own last change.
//
// Views. A Mailbox handle reads its messages lazily (a delivery that
// only appends never reads the mailbox) in one REPEATABLE READ snapshot
// with the journal cursor, and afterwards changes only through its own
// operations and Poll. Poll reads the journal after the cursor and
// applies, in order, the entries another handle made (its own carry its
// origin and are skipped), so an expunge made elsewhere is seen only at
// Poll. A handle whose first call is Poll reports what changed since it
// was opened, as if its view had been read then. Journal entries older than Options.JournalRetention are pruned
// by CollectGarbage; a handle whose cursor is older resyncs from the
// message table. A mailbox deleted or renamed away gives
// store.ChangeDeleted; INBOX renamed gives store.ChangeUIDValidity.
//
// Notification. Each change's transaction calls pg_notify with
// "MAILBOXID:ORIGIN"; every Backend keeps one LISTEN connection and
// wakes the handles of that mailbox except the origin. A lost LISTEN
// connection is re-established (with a delay up to 5 s) and then wakes
// every handle, since notifications may have been missed.
//
// Session locks. Store implements store.SessionLocker (POP3's
// pop3_lock_session) with a session-level advisory lock keyed by the
// user's id (bit 62 set), held by one pooled connection for the length
// of the session, so POP3 sessions of one user exclude each other on
// every server of the database, and a server that dies releases its
// locks with its connections.
//
// Crash safety of bodies. A body of at most one chunk going to the
// default BlobStore of the same database commits together with its
// reference row and its message in one statement (one round trip, one
// synchronous commit; the reference row's upsert holds its lock, so
// the collector runs wholly before or after). Otherwise Append reads the message once (memory up to
// SpoolMemory, else an unlinked temporary file) to get its SHA-256
// (blob.Key) and sizes, then (1) upserts its pgstore_blob_refs row
// (touched = now(), epoch kept or new), (2) Puts the body, which is
// durable when Put returns, (3) in one statement, locks the refs row FOR
// SHARE and only if its epoch is still the one read in (1), allocates
// the UID and inserts the message and journal rows. A crash before (3)
// commits leaves at most an unreferenced body, never a row without a
// body. CollectGarbage deletes a body only while holding the refs row
// FOR UPDATE, when touched is older than BlobGrace and no message names
// the key, and deletes the refs row in the same transaction. So: an
// append whose (1) committed before the collector locked the row makes
// it "young"; one whose (1) waited for the collector comes after the
// Delete, and its Put stores the body again; one whose (3) finds the
// epoch changed (the collector removed the row between (1) and (3))
// starts again from (1). Copy and Move lock the bodies' refs rows FOR
// SHARE while they insert rows naming them. A concurrent Put of the
// same key into BlobStore either inserts the chunks or finds them
// committed by the other (unique key).
//
// Derived data. Mailbox implements store.MessageDataStore: data a
// protocol derives from a body (an envelope, a body structure, sort
// keys) are kept in pgstore_body_data by content key, shared by every
// copy, computed at append time by Options.Derive or stored later with
// SetMessageData, and collected with the body.
//
// Failures. Every operation runs under Options.OpTimeout; database
// errors are wrapped with store.ErrTemporary (protocols answer with a
// temporary failure). A message whose body is missing from the blob
// store fails Open with store.ErrNoSuchMessage and is logged; the
// mailbox still opens and lists it.
//
// Delivery. Store.Deliver (LMTP's path, and IMAP APPEND to a mailbox
// that is not selected) takes no handle and reads nothing of the
// mailbox. Concurrent deliveries of one Backend whose bodies fit in one
// chunk of the same database are committed together (group.go): the
// first caller runs a transaction holding every delivery queued
// meanwhile, sent in one round trip (BEGIN, one statement per message
// in a fixed mailbox order, COMMIT), so one WAL flush serves the batch;
// should it fail, each message is tried alone. Every delivery still
// gets its UID at commit (LateUID changes nothing). With
// AppendOptions.NoSync the batch commits asynchronously (only when
// every message in it asked for that); Backend.SyncDeliveries
// (store.DeliverySyncer) then commits a synchronous write, which
// flushes the WAL up to it and so every asynchronous commit before,
// shared by concurrent callers.
//
// Database settings. Keep synchronous_commit on: a delivery is
// acknowledged once its transaction has committed, and that must
// survive a crash. Bodies and derived data are compressed with LZ4
// where the server has it (schema version 4), cheaper in CPU than
// PostgreSQL's default pglz. commit_delay (with commit_siblings) is
// best left at 0: tried at 500 µs with three front ends on two cores,
// it saved nothing and slowed deliveries; the front ends' own group
// commit already shares each WAL flush among concurrent deliveries.
//
// \Recent is kept as Dovecot keeps it (recent.go).
//
// Replication. Store implements store.Replica (replica.go): an append
// with the partner's UID and GUID, UIDNEXT raised, and a renumbering
// under a new UIDVALIDITY, each in one transaction under the mailbox
// row's lock, so package replicate keeps UIDs between a pgstore and
// another server (TestReplicaWithMaildir).
//
// Quota (Options.QuotaStorage, QuotaMessages) is checked against the
// per-mailbox counters before an append or copy; concurrent appends may
// overshoot by what is in flight, as with Dovecot's count quota.
package pgstore
