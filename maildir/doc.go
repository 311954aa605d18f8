// Package maildir stores mail in Maildir++ directories exactly as Dovecot
// 2.3 keeps them, so that yubin and a running Dovecot (or any Maildir
// delivery agent) can share one mailbox. It implements the store
// contract (store.Backend, store.Store, store.Mailbox).
//
// # Layout and Dovecot compatibility
//
//   - The root is INBOX (cur/, new/, tmp/); every other mailbox is a
//     folder ".Name" with levels joined by "." and written in modified
//     UTF-7 (RFC 3501 5.1.3): "Archive/2024" is ".Archive.2024". A "." in
//     a level is refused, as Dovecot refuses it. Each folder holds an
//     empty maildirfolder file.
//   - File names are Dovecot's: "<secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<vsize>"
//     then ":2," and the flag letters sorted by ASCII (D draft, F flagged,
//     R answered, S seen, T deleted, a..z keywords from dovecot-keywords).
//     Unknown letters and a second ","-group are kept. The base name
//     (before ":") is the message's GUID and POP3 %f. COPY and MOVE into
//     another folder keep it (Dovecot's maildir_copy_preserve_filename),
//     so IMAP's EMAILID survives them; a name the destination already
//     holds is replaced by a new one.
//   - UIDs and UIDVALIDITY live in dovecot-uidlist version 3, written only
//     under the dovecot-uidlist.lock dotlock ("pid:host", written to a
//     temporary file and hard-linked into place as Dovecot does): new
//     records are appended, the header's N is treated as a lower bound, a
//     damaged or foreign-version file is rewritten through a temporary
//     file and rename. Version 1 files are read.
//   - Keywords live in dovecot-keywords (26 per folder, letters a..z),
//     changed under dovecot-keywords.lock.
//   - subscriptions is Dovecot's "V\t2" file; maildirsize is kept when
//     Options sets quota limits (Maildir++ quota).
//   - Delivery (Append, Store.Deliver) writes an unnamed file in tmp/
//     (O_TMPFILE; tmp/<name> where the file system has none), fsyncs it,
//     links it into new/ (cur/ when it has flags) while holding the
//     uidlist lock, then fsyncs the directory and appends and fsyncs the
//     uidlist record: a UID returned is durable. An interrupted delivery
//     leaves nothing behind. Concurrent deliveries
//     to one mailbox are committed in groups: each fsyncs its own file,
//     and one rename pass, one fsync of new/ and one of dovecot-uidlist
//     serve the whole group before any of its deliveries returns.
//   - Files another program delivers (into new/ or cur/) are adopted at
//     the next sync, whatever their names; files in tmp/ older than 36 h
//     are removed; a missing tmp/ (or cur/, new/) is recreated.
//   - A dotlock that was not refreshed for Options.StaleLockTimeout
//     (120 s, Dovecot's value) or that names a dead process on this host
//     is broken; so is an empty one (its writer died between creating and
//     writing it) after 5 s.
//
// # Implementation notes
//
// A Store keeps one shared state per open folder: messages in UID order
// (immutable records), the keyword table, HIGHESTMODSEQ and an ordered
// change log. Each handle (store.Mailbox) keeps its own view, which
// changes only on Poll and through the handle's own operations; the log
// feeds other handles' Poll in order and signals their Notify channel.
// The log is a linked list that each handle reads from its own cursor;
// entries every handle has read are left to the garbage collector, so a
// change reaching n waiting handles (IMAP IDLE sessions) costs O(n) in
// all, not a trimming pass per Poll.
// A handle's own Append, Copy into its own mailbox, flag changes and
// expunges show in its Messages at once and are never reported by its
// Poll; a message another session appended earlier (lower UID) may then
// arrive from a later Poll, inserted in UID order.
// All changes to a folder's state happen under its mutex, and the
// dotlocks are only taken inside it, so the lock order is always
// folder mutex(es) (by path), then dotlock.
//
// Changes made by other processes are found by rescanning new/ and cur/
// when their mtimes moved (or are within two seconds of the last scan,
// since mtimes advance in clock ticks) and by re-reading the tail of
// dovecot-uidlist. While a handle is open, an inotify watch (or, with
// Options.NoInotify, polling every Options.PollInterval) performs that
// sync in the background so that IMAP IDLE hears about them.
//
// Dovecot keeps modseqs and \Recent in its own index; yubin keeps its own
// in "yubin-index" per folder (see index.go), which Dovecot ignores and
// which is rebuilt when missing: modseqs are reserved in blocks so that
// HIGHESTMODSEQ never goes back, even after a crash. The index also
// records the mtimes of new/ and cur/ and the identity of
// dovecot-uidlist as of the scan it reflects; while they still match, a
// folder is opened from the index alone (no directory listing), as
// Dovecot trusts its own index. A message is \Recent
// for the first read-write handle that sees it; that handle moves it from
// new/ to cur/, as Dovecot's SELECT does.
//
// Events the Store itself causes (its own renames and unlinks) are noted
// before they happen and ignored by the inotify watcher, and while the
// watch runs Poll trusts it instead of rescanning: a flag change in a
// 100,000-message folder costs a rename, not a rescan.
//
// Limits: modseqs are exact within one process. Two yubin processes on
// one folder each number the changes they notice; yubin-index only
// guarantees that neither ever reports a HIGHESTMODSEQ below what the
// other reserved. More than 26 keywords per folder cannot be stored in
// Maildir file names and are refused (store.ErrKeywordInvalid), where
// Dovecot would keep them in its index only.
//
// Special-use attributes given to CreateMailbox are remembered in
// "yubin-special-use" (Dovecot keeps them in its configuration).
package maildir
