// Package sievestore keeps a user's Sieve scripts the way Dovecot's
// Pigeonhole "file" storage does, so that Dovecot's managesieved, its
// LDA/LMTP and yubin can share one user's scripts:
//
//   - the sieve_storage directory (Pigeonhole's "sieve =
//     file:~/sieve;active=~/.dovecot.sieve") holds one NAME.sieve file
//     per script and a tmp/ directory for writes in progress;
//   - the active script is a symbolic link (~/.dovecot.sieve) whose
//     target is the script's file, written relative to the link's
//     directory ("sieve/NAME.sieve") as Pigeonhole writes it;
//   - no active script means no link.
//
// Quotas are Pigeonhole's sieve_quota_max_scripts and
// sieve_quota_max_storage (the sizes of all scripts, the one being
// replaced not counted) and sieve_max_script_size; script names follow
// Pigeonhole's rules (RFC 5804 section 1.6: UTF-8, no control
// characters, and for the file storage no "/"), so that no name can
// reach outside the storage directory.
//
// Implementation notes: a script is written to tmp/, synced, renamed
// into place and the directory synced, so a reader sees the old or the
// new script, never a part. The active link is replaced the same way
// (a new link renamed over the old one). A rename uses link(2) and
// unlink(2), so it never replaces an existing script. Nothing is locked,
// as in Pigeonhole: two sessions of one user that race on quota may
// both pass the check.
package sievestore
