// Package sieve parses, checks and runs Sieve mail filtering scripts
// (RFC 5228) the way Dovecot's Pigeonhole does at delivery time. It is
// pure: Run takes a message and an envelope and returns the actions
// (keep, fileinto, redirect, discard, reject, vacation, notify, flags,
// header edits); it touches no mail store and no socket. Delivery code
// (LMTP, the queue's local transport) applies the actions.
//
// Extensions: fileinto, envelope, encoded-character (RFC 5228);
// reject and ereject (RFC 5429); vacation and vacation-seconds (RFC 5230,
// RFC 6131); subaddress (RFC 5233); comparator-i;ascii-numeric (RFC 4790);
// relational (RFC 5231); regex (draft-ietf-sieve-regex); imap4flags
// (RFC 5232); copy (RFC 3894); include (RFC 6609); body (RFC 5173);
// variables (RFC 5229); enotify with mailto (RFC 5435, RFC 5436);
// environment (RFC 5183); mailbox (RFC 5490); date and index
// (RFC 5260); ihave (RFC 5463); duplicate (RFC 7352); editheader
// (RFC 5293); spamtest, spamtestplus and virustest (RFC 5235, with the
// values computed by the caller).
//
// Errors: Parse returns an ErrorList whose entries carry the line and
// column; their text is what sievec prints ("line 4: error: ..."). The
// parser recovers from an error as Pigeonhole's does (it skips to the
// end of the string list, test list, command or block it was in), so a
// broken script gets the whole list sievec and ManageSieve report, not
// only the first. Findings that do not stop a script are its Warnings
// ("line 2: warning: ..."); WithUpload checks a script as ManageSieve's
// upload does.
// A run that fails (a limit, a conflicting action) falls back to the
// implicit keep with Result.Err set, so mail is never lost.
//
// Implementation notes: a *Script is immutable after Parse and safe for
// concurrent runs; each run keeps its state (variables, flags, match
// variables, actions) in its own value. Regexes use Go's RE2, linear in
// time, with the POSIX extended flags Pigeonhole uses ('.' matches a
// newline; i;ascii-casemap ignores case). Limits (script size, actions,
// redirects, nesting, steps, wall-clock time, variable and string
// sizes) are Limits fields with Pigeonhole's defaults.
package sieve
