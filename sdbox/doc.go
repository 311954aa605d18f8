// Package sdbox is a yubin mail store in Dovecot 2.3's single-dbox
// format (mail_location = sdbox:PATH), shared with a Dovecot that uses
// the same directories: what one writes, the other reads, with the same
// UIDs, UIDVALIDITY, flags, keywords and message GUIDs.
//
// # Layout
//
// A user's tree is PATH/mailboxes/<name>/dbox-Mails/ per mailbox, with
// the name's levels as directories in IMAP modified UTF-7; a directory
// without dbox-Mails is a \Noselect parent. PATH also holds
// subscriptions and dovecot-uidvalidity, as for Maildir. Each message is
// one file u.<UID>, written once and never changed: a file header line,
// a 30-byte message header with the body size, the body byte for byte,
// and a metadata block (G GUID, R received date, V virtual size, P POP3
// UIDL and any other key, kept as is by a copy, which hard-links the
// file as Dovecot does).
//
// # Index and log
//
// Flags, keywords, UIDVALIDITY, the next UID and the mailbox GUID live
// only in dovecot.index and the transaction log dovecot.index.log. A
// mailbox is read as Dovecot reads it: the index records, then the log
// replayed from where the index stops (through dovecot.index.log.2 when
// the log was rotated). yubin writes as Dovecot's own writers do: every
// change is a transaction appended to the log under Dovecot's fcntl
// write lock on dovecot.index.log (taken as an open file description
// lock, which conflicts with Dovecot's). When a write leaves the log
// past Dovecot's rotate size (Options.LogRotateMaxSize, or
// LogRotateMinSize once the log is LogRotateMinAge old), the log is
// rotated as Dovecot's mail_index_write does: a new log made under the
// dotlock dovecot.index.log.lock continues it, the old one is kept as
// dovecot.index.log.2, and dovecot.index is rewritten (temporary file,
// fdatasync, rename) from the mailbox's state with every extension in
// its place, so a mailbox only yubin changes keeps a bounded log and
// readers start from the index. Expunges Dovecot requested and has yet
// to carry out postpone the rotation: they are Dovecot's to finish.
// A new mailbox gets a log like the one Dovecot starts (the dbox-hdr
// extension with the mailbox GUID, the
// UIDVALIDITY); Dovecot opens such mailboxes without force-resync.
//
// Append writes and fsyncs the message to an unnamed file (O_TMPFILE;
// a .temp.<host>.<pid>... name where the file system has none), then,
// with the log locked, links it as u.<next UID> and appends the APPEND
// transaction, and fsyncs the directory and the log: when Append
// returns, message and UID are durable. Appends that wait for the lock
// meanwhile are committed together (one write and one fsync of each
// for all of them). While the mailbox has handles, the log and the
// dbox-Mails directory stay open between transactions, as Dovecot keeps
// the log open while a mailbox is selected: a batch costs the lock, a
// stat of the log's name (a rotation by anyone shows as another inode)
// and the unlock, and the message files are written through bare
// descriptors, not os.File, so no runtime poller set-up. With AppendOptions.NoSync (a mail queue's
// deliveries) the fsyncs are left to SyncDeliveries (store.DeliverySyncer),
// one syncfs shared by the deliveries waiting at that moment. A crash
// leaves no temporary file with O_TMPFILE; .temp files older than 36
// hours (Dovecot's or yubin's) are removed when a mailbox is opened for
// writing. Expunges are logged before the files go.
//
// What a listing needs from the u.N files (received and save dates,
// virtual size, GUID) is kept in yubin-meta, a cache beside them keyed
// by UIDVALIDITY and UID, so that a new process's first listing of a
// big mailbox does not open every file.
//
// LockSession is Dovecot's pop3_lock_session lock
// (dovecot-pop3-session.lock in PATH). \Recent is shared with Dovecot
// through the index header's first_recent_uid: the first writable
// handle to list the mailbox (or to poll new messages) takes the
// messages no session has seen and raises it in the log. Each handle replays the log from where it stands to report
// other sessions' and other programs' changes in the order they were
// made (Poll); handles of one Store are woken at once, and changes by
// other processes are noticed within Options.PollInterval.
//
// # Damage
//
// A truncated or garbage u.N file is listed but fails to open; an index
// with a wrong header or record size is used for its base header only,
// the log replayed over it and the message files taken in without flags;
// a log is read up to its first bad record, and a transaction cut short
// by a crash is ignored (the next writer overwrites it). What was
// distrusted is logged and returned by Mailbox.Damage; nothing is
// deleted.
//
// # Limits
//
// Extension record data yubin does not interpret (the cache offsets)
// is carried into a rewritten index as the old index had it; changes
// Dovecot made to it in the log since are not (a message's cache offset
// may point to an older cache record, or be zero: uncached).
// AppendOptions.LateUID changes
// nothing: the UID comes with the same log write. Linux only:
// the package relies on open file description locks, renameat2 and
// fdatasync.
package sdbox
