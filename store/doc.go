// Package store is the one contract between yubin's protocol servers
// (imap, pop3, lmtp, smtp local delivery) and its mailbox formats (maildir,
// and later mbox and sdbox). It defines types and interfaces only and does
// no I/O; store/storetest is the conformance suite every format passes.
//
// The shape follows what IMAP4rev2 (RFC 9051) with CONDSTORE/QRESYNC
// (RFC 7162), UIDPLUS (RFC 4315), MOVE (RFC 6851), SPECIAL-USE (RFC 6154),
// QUOTA (RFC 9208), OBJECTID (RFC 8474), SAVEDATE (RFC 8514), POP3
// (RFC 1939) and LMTP (RFC 2033) need from a mail store:
//
//   - A Backend opens one user's Store by user name. The program decides
//     how a user name maps to a location (an auth UserDB's home and
//     mail_location); store does not know about auth.
//   - A Store is a user's mailbox tree: list with attributes and special
//     use, create, delete, rename, subscriptions, per-mailbox status, quota.
//   - A Mailbox is one session's handle on one mailbox: status, message
//     metadata in UID order, streaming reads, append, flag changes with
//     UNCHANGEDSINCE, expunge, copy and move with UID mappings, and the
//     changes other handles (in this process or another) made since the
//     last Poll.
//   - Optional interfaces a Store may implement, found by type assertion:
//     SessionLocker, an exclusive lock for one protocol session that other
//     processes respect (POP3's pop3_lock_session); Replica, appends
//     with a chosen UID and GUID for a replicator; SpecialUseSetter, a
//     special-use attribute changed after creation.
//
// AppendOptions.LateUID lets a delivery leave the UID to the next reader;
// a store may ignore it and assign one as usual.
//
// # Names
//
// Mailbox names in this package are UTF-8 with "/" as the hierarchy
// separator ("Archive/2024"), whatever the format keeps on disk (Maildir++
// uses ".Archive.2024" in modified UTF-7). "INBOX" is case-insensitive and
// always reported as "INBOX". ValidateName rejects names that could escape
// the mail directory.
//
// # Implementation notes
//
// UIDs are strictly ascending within a mailbox and never reused under one
// UIDVALIDITY. A UID returned by Append is durable: the message was written
// and synced to stable storage before Append returned, so a protocol may
// acknowledge it (250, OK, APPENDUID) at once.
//
// Changes a Mailbox handle makes itself are reported to its caller through
// return values (AppendResult, the []FlagUpdate of SetFlags, the expunged
// UIDs), never again through its own Poll. Every other open handle on the
// same mailbox sees them, in order, from Poll, and its Notify channel is
// signalled. Poll also picks up changes made by other processes (Dovecot,
// a delivery agent, a second yubin) on the same storage; a backend that can
// watch the file system signals Notify for those too, one that cannot
// documents its polling interval.
//
// A Mailbox handle is used by one goroutine at a time (one IMAP or POP3
// session); Store and Backend are safe for concurrent use.
package store
