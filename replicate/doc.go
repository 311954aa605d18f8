// Package replicate keeps a user's mail identical on two yubin servers,
// in both directions, as a pair of Dovecot servers with the replicator
// and dsync do (mail_replica, doveadm_port, doveadm_password,
// replication_max_conns, replication_full_sync_interval): both servers
// serve IMAP and POP3 for every user, and a client that fails over from
// one to the other finds the same mailboxes, UIDVALIDITY, UIDs, GUIDs
// (POP3 UIDLs), flags and bytes.
//
// The parts:
//
//   - Syncer.Sync runs one two-way sync of one user between two
//     Endpoints. LocalEndpoint is a store.Store on this server;
//     RemoteEndpoint is the partner's, reached with a Dialer.
//   - Server answers the partner's syncs (the doveadm_port listener).
//   - Replicator queues users by priority, as Dovecot's replicator: a
//     change reported through Notify (WatchBackend wraps the Backend
//     the protocols use, so IMAP, POP3, LMTP and local delivery report
//     every change) is synced within about a second, MaxConns users at a
//     time; failures are retried with a growing delay (1 s doubling up to
//     FailureRetry); every user is synced again each FullSyncInterval.
//     Snapshot, WriteOverview and WriteUserStatus print what
//     `doveadm replicator status [mask]` prints, byte for byte as
//     Dovecot 2.3's table printer (compared with a running replicator).
//
// # What is replicated
//
// Mailboxes (create, delete, rename), subscriptions, special-use
// attributes (at creation, and changed later through
// store.SpecialUseSetter), messages with their bytes, internal date and
// GUID, flags and keywords, expunges, UIDVALIDITY and UIDNEXT. Not
// replicated: quota settings.
//
// # Renames
//
// A mailbox is known across a rename by its UIDVALIDITY (which a rename
// keeps, and which IMAP's MAILBOXID is made of), as dsync knows it by its
// mailbox GUID: a base mailbox missing under its name on one side, while
// that side has a mailbox not in the base with the same UIDVALIDITY and
// some of the base's messages (a few GUIDs are probed), was renamed
// there. An empty mailbox renamed travels as a delete and a create
// (nothing to copy; clients see a new UIDVALIDITY). The rename is replayed as a rename on the other side, so no
// message is copied and clients keep UIDs and UIDVALIDITY; the state
// follows the mailbox. Conflicts: renamed on one side and deleted on the
// other keeps the mailbox and its mail on both; renamed on both sides
// to different names takes the name that sorts first on both (dsync
// takes the newer rename, whose time the store does not keep); a rename
// onto a name the other side created meanwhile moves that mailbox aside
// to "<name>-temp-<hex>" (as dsync's temp- names) on both; names swapped
// or chained go through temporary names.
//
// # Stores
//
// Keeping UIDs and GUIDs needs store.Replica (an append with a chosen
// UID and GUID, UIDNEXT raised, a renumbering under a new UIDVALIDITY),
// which maildir, sdbox and mbox implement (and pgstore), so a pair of
// them, of one format or another, keeps UIDVALIDITY, UIDs and GUIDs
// (POP3 UIDLs) on both sides, as Dovecot's dsync does across formats
// (mbox keeps a partner's GUIDs beside the file: it has no place for
// them; its own are made of UIDVALIDITY, UID and a digest of the
// content, so that two mbox mailboxes created apart in the same second,
// with one UIDVALIDITY, do not give their different first messages one
// GUID). The conflict tests run on maildir-maildir, maildir-sdbox,
// sdbox-maildir, sdbox-sdbox, maildir-mbox, mbox-sdbox and mbox-mbox.
// One GUID new on both sides over different bytes (a store or partner
// that gives one GUID to different messages, as mbox stores did before
// the digest) is two messages: both are left alone and the mailbox's
// sync fails with ErrGUIDClash.
//
// When either side's store lacks store.Replica, the sync still keeps
// the same mail on both sides, matched by ID (the GUID the message had
// where it was first stored; a copy's own GUID is recorded under it in
// the State, and new messages with the same bytes on both sides are
// paired by SHA-256, so an interrupted sync does not duplicate), but
// each side gives copies UIDs of its own. Clients then must see a
// different UIDVALIDITY on each side, never the same one over different
// UIDs: a mailbox whose two copies have the same UIDVALIDITY gets a new
// one on the side with store.Replica, and without it on either side is
// not synced (ErrUIDValidityClash, reported). POP3 UIDLs and IMAP UIDs
// survive a failover only with store.Replica on both sides. An mbox
// mailbox cannot have children, so a maildir or sdbox tree with mail in
// a parent does not fit an mbox partner.
//
// # The sync
//
// Each side keeps a State per user and partner, one for syncs driven from
// either side (Server.Partner names the partner as the local Replicator
// does; two States, one per direction, would let a sync driven by one
// side take what the other deleted since for new): for each mailbox its
// UIDVALIDITY and, by GUID, the UID and flags both sides had after the
// last sync (the base). A sync asks each side for its changes since the
// base (Diff): new messages (GUID not in the base), messages whose flags
// differ from the base, base messages gone. A mailbox whose base is
// unusable on either side (never synced, UIDVALIDITY changed, state
// lost) is merged without one: every message is new, nothing is deleted.
// Only changes travel, so a partner that was down for a day catches up
// with what changed, not a copy of everything.
//
// Conflict rules (each has its own test in conflict_test.go):
//
//   - Flags changed on both sides are merged flag by flag against the
//     base: a flag or keyword takes the value of the side that changed
//     it (a flag both changed has the same value on both). Without a
//     base, flags are united. Flags are set with UNCHANGEDSINCE (the
//     modseq the diff saw), so a change made during the sync is not
//     overwritten; it is taken by the next sync.
//   - A message expunged on one side is expunged on the other even if
//     its flags changed there (expunge wins, as in dsync).
//   - A message new on one side keeps its UID on the other when that
//     side's UIDNEXT has not reached it. Otherwise (both sides gave the
//     UID to different messages, or the other side used and expunged
//     it) it is renumbered: copied to the other side under a UID above
//     both UIDNEXTs, then expunged and added again under that UID on its
//     own side. Both messages of a same-UID clash are renumbered, so no
//     client that saw the UID on either side finds another message under
//     it; UIDVALIDITY does not change (RFC 9051 2.3.1.1: the old UID is
//     expunged, the new one was never used).
//   - Two mailboxes of one name with different UIDVALIDITYs (created on
//     both sides before they were synced): a side that never gave out a
//     UID takes the other's UIDVALIDITY and UIDNEXT; otherwise the side
//     with the lower UIDVALIDITY takes the higher one (it must grow) and
//     the other side's UIDs for the messages both hold, its own messages
//     going above. Its clients see the new UIDVALIDITY and resynchronise.
//   - A mailbox deleted on one side is deleted on the other unless that
//     side changed it since the base (new mail, flag changes): then it is
//     created again on the first side with all its mail. A rename on one
//     side and a delete on the other thus keep the renamed mailbox and
//     its mail on both. INBOX is never deleted.
//   - The State both sides agree on is the one of the highest generation
//     both hold; each keeps its current and previous generation, so a
//     crash between the two sides' commits still leaves a common base.
//
// # Crash safety
//
// Every change a sync makes goes through the store's durable calls
// (ReplicaAppend, SetFlags, Expunge return once on stable storage), and a
// message is copied to the other side before it is removed from its own
// (renumbering), so a sync cut at any point loses nothing: the next one
// sees the half-done work as changes and finishes it. The State is
// written (each file: temporary file, fsync, rename; then the directory
// fsynced; the mailbox files before the header that names them) only
// after the sync, on the partner first; a sync that did not complete
// leaves the previous base, which is always safe to merge against. A
// message appended to both sides under the same GUID (an interrupted
// sync) is recognised by its GUID and not copied twice.
//
// # Protocol
//
// TCP, with TLS unless configured off, one user per connection. Frames
// are a 4-byte big-endian length, a kind byte ('Q' request, 'R' response,
// 'D' message bytes, 'E' end of message) and a payload; requests and
// responses are JSON, at most MaxFrame (16 MiB) each; message bytes
// travel in 64 KiB data frames and are refused above this side's
// MaxMessageSize. The first request is "hello" with the shared secret
// (doveadm_password), compared in constant time, a wrong one answered
// after half a second; then "user"; then the Endpoint calls. Requests
// are checked before use (known operation, valid mailbox names, flags,
// list lengths); a malformed frame ends the connection, an invalid
// request is refused, and the sync of other users goes on. A request
// that changes or removes a message names it by UID and GUID and is
// ignored when they do not match; an append under a UID below UIDNEXT is
// refused (store.ErrUIDNotAvailable), as is one of a GUID the mailbox
// holds, so an old change replayed cannot reuse a UID or delete mail.
// One sync of a user runs at a time on a server (UserLocks): a partner
// that finds the user busy gets ErrBusy and retries shortly.
//
// # Limits
//
// A sync lists each changed mailbox's messages on each side (in memory,
// from the store's index) to compute its diff, and reads the State of
// the user. Writing the State is incremental: a small header per user,
// a snapshot per mailbox and a journal of its changes since, so a sync
// writes the changes it made, not the user's whole state; a journal
// grown past half its snapshot is folded into a new one
// (StateStore.Save).
package replicate
