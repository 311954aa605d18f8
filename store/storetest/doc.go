// Package storetest is the conformance suite every yubin mailbox format
// (maildir, and later mbox and sdbox) passes. A format's tests call Run
// with a function returning a fresh, empty store.Store, or RunOpener to
// also run the tests that close a store and open it again (what a restart
// or a second process sees).
//
// What it checks, one subtest each:
//
//   - UIDs strictly ascending, never reused (also after expunge and
//     reopen); UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ persist across
//     reopen and never go back.
//   - System flags and keywords round-trip through append, STORE
//     (+FLAGS, -FLAGS, FLAGS) and reopen; invalid keywords are refused.
//   - Expunge of a UID set and of all \Deleted messages.
//   - COPY and MOVE return COPYUID mappings in order (also into the same
//     mailbox), keep flags, keywords and bodies, and MOVE expunges.
//   - Many goroutines appending at once get distinct ascending UIDs.
//   - A second handle is notified (Notify) and sees new messages, flag
//     changes and expunges from Poll, in order, exactly once; the acting
//     handle does not see its own changes again; other mailboxes hear
//     nothing.
//   - The mailbox tree: create, \Noselect parents, special use, delete,
//     rename with children, INBOX rename (RFC 9051 6.3.6), subscriptions.
//   - Names that could escape the mail directory (".." levels, a leading
//     separator), NUL and control characters and levels over 255 bytes
//     are refused with store.ErrInvalidName.
//   - Bodies read back byte for byte (bare CR, bare LF, NUL, 8-bit, a
//     1 MiB binary stream, a 50 MiB message appended with bounded memory;
//     skipped with -short), Size is the CRLF size, readers seek and ReadAt.
//   - CONDSTORE: modseqs rise with every change, UNCHANGEDSINCE fails the
//     messages changed since, FLAGS with the same flags keeps the modseq.
//   - Read-only handles refuse changes with store.ErrReadOnly but may copy.
//   - Status counters (messages, unseen, deleted, size) and Quota usage.
//
// # Implementation notes
//
// Subtests do not run in parallel: a format may use the process's
// resources (inotify watches, file descriptors) per open mailbox. Each
// subtest opens its own fresh store.
package storetest
