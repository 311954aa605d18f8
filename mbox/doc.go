// Package mbox stores mail in mbox files the way Dovecot 2.3 keeps them,
// so that yubin, a running Dovecot, Postfix's local(8), procmail and mutt
// can share one mailbox. It implements the store contract (store.Store,
// store.Mailbox) and a store.Backend.
//
// # Layout (Dovecot's mbox:~/mail:INBOX=/var/mail/%u)
//
//   - Every mailbox is one file under the root, its levels written in
//     modified UTF-7; a directory is a \Noselect parent. INBOX is the file
//     Options.Inbox (the spool), so INBOX and the folders may live apart.
//     Plain mbox cannot hold a file and a directory of the same name, so
//     the children of a selectable mailbox "X" live in "X.children/"
//     (yubin's extension; Dovecot itself refuses such children).
//   - Index and state files are under root/.imap/<mailbox>/ as Dovecot's
//     are; yubin keeps there yubin-mbox-state (UIDVALIDITY and next
//     UID for a mailbox whose file has no X-IMAPbase, and the
//     HIGHESTMODSEQ, which an mbox file cannot hold), yubin-mbox-guids
//     and yubin-replica-guids.<UIDVALIDITY> (message GUIDs, below).
//     Subscriptions are root/.subscriptions, one name per line.
//   - A message's GUID is the one a replicator gave it (store.Replica),
//     else UIDVALIDITY, UID and a digest of its visible header and body
//     (32 hex digits), which no rewrite of the file changes; messages
//     that had their UID before yubin's GUIDs had the digest keep
//     UIDVALIDITY and UID alone (16 hex digits), as yubin-mbox-guids
//     records. Dovecot's mbox GUID is its own (an MD5 of a few headers).
//
// # Messages
//
//   - Each message starts with a From_ line ("From MAILER-DAEMON  Sun Nov
//     22 05:38:26 2026", local time) and ends with an empty line. Dovecot's
//     fields are written in its order into the header: X-IMAPbase
//     (UIDVALIDITY, last UID as 10 digits, keywords) in the first message
//     only, X-UID, Status (R seen, O old), X-Keywords padded for in-place
//     updates, Content-Length, X-Status (A F T D). They are hidden from
//     the message as read, and dropped from appended messages, as Dovecot
//     does. Bodies are not From_-quoted: readers rely on Content-Length.
//   - Reading accepts mboxo and mboxrd files written by other programs
//     (quoted ">From " lines are left as they are, as Dovecot does): a
//     Content-Length is trusted only when it ends at an empty line
//     followed by a From_ line or at the end of the file; otherwise the
//     splitter looks for a From_ line after an empty line. Messages
//     without X-UID (a delivery agent's) get the next UIDs and the file is
//     rewritten with them.
//   - Damaged files (text before the first From_ line, a Content-Length
//     that lies, a missing final newline, a header cut off by the end of
//     the file) open with what can be read; the damage is logged and
//     nothing is dropped: bytes before the first From_ line are kept on
//     rewrite.
//   - A message appended without a header/body boundary (or whose header
//     holds only Dovecot's fields) is stored as a body after an empty
//     header, so every message reads back byte for byte.
//
// # Writing and locking
//
//   - Readers take an fcntl read lock over the whole file (Dovecot's
//     mbox_read_locks = fcntl), to parse it and for each read of a
//     message; a message another program moved by rewriting the file in
//     place meanwhile (its From_ line no longer where it was) fails to
//     read with store.ErrTemporary rather than giving other bytes.
//     Writers take an fcntl write lock and
//     then the "<mbox>.lock" dotlock, Debian's mbox_write_locks = fcntl
//     dotlock order, so that yubin and Debian's Dovecot never hold one
//     each while waiting for the other's ("pid:host"; a dotlock
//     untouched for Options.StaleLockTimeout, or whose process on this
//     host is gone, is removed). fcntl locks are Linux
//     open-file-description locks, which conflict with the other
//     programs' POSIX locks. Without write access to the directory (a
//     spool without mail_privileged_group rights) the dotlock is skipped.
//   - Append writes at the end of the file and changes nothing before it
//     but the 10 digits of X-IMAPbase's last UID, then fsyncs: its cost
//     does not depend on the size of the mailbox. With
//     AppendOptions.NoSync (a mail queue's deliveries) the fsync is left
//     to SyncDeliveries (store.DeliverySyncer): one syncfs shared by the
//     deliveries waiting at that moment. Large messages are
//     spooled to an unlinked temporary file first (the Content-Length
//     precedes the body).
//   - Flag changes are written in place when the new Status, X-Status
//     and X-Keywords fit where the old ones were (X-Keywords is written
//     padded for this, as Dovecot does) and every keyword is in
//     X-IMAPbase's list: a few bytes and an fsync, the file otherwise
//     untouched (a crash may leave a message's flags old or new). Other
//     flag changes and expunges write a new file beside the old one,
//     streaming message by message (memory does not grow with message
//     sizes), fsync it, rename it over the mailbox and fsync the
//     directory, all under the dotlock: a crash leaves the old or the new
//     mailbox, never a mix. The file's mode and (as root) owner are kept.
//   - A writer that opened the file before such a rename and waited for
//     its lock would write to the replaced file. yubin checks, once it
//     holds both locks, that the file it locked is still the mailbox,
//     and starts again if not. Dovecot (Debian's lock order) checks only
//     before it waits, so the replaced file stays linked as
//     .<file>.yubin-replaced.<until>.<size> for the lock timeout plus a
//     minute: whoever holds the locks next (this process, another yubin,
//     or the next open after a crash) moves a late append into the
//     mailbox under a UID after every UID given, and records in the
//     link's name that it did (salvage.go).
//   - A rewrite creates its temporary file in the mailbox's directory,
//     so yubin needs write access there (for /var/mail: the mail group,
//     as Dovecot's mail_privileged_group gives for its dotlocks).
//     Messages delivered by other programs without X-UID get their UIDs
//     written by such a rewrite at the next sync, which costs a pass over
//     the whole file.
//   - Changes by other programs are noticed from the file's inode, size
//     and times: at Poll, Status and open, and every Options.PollInterval
//     for handles waiting on Notify. As with Dovecot's mbox_dirty_syncs:
//     a file that grew is read from its last known message on, once that
//     message is found where it was with its X-UID (an append costs a
//     parse of the new part only); a file that shrank, was replaced, or
//     kept its size but changed (a change in place) is read whole. A flag
//     another program changed in place while also appending is noticed
//     at the next full pass, as with Dovecot.
//   - LockSession is Dovecot's pop3_lock_session lock,
//     dovecot-pop3-session.lock in ROOT/.imap, where Dovecot keeps it.
package mbox
