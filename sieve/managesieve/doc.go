// Package managesieve is a ManageSieve server (RFC 5804): users upload,
// check, list, activate, fetch, rename and delete their Sieve filter
// scripts with clients such as sieve-connect, Thunderbird's Sieve
// add-on or Roundcube's managesieve plugin.
//
// It implements CAPABILITY (with IMPLEMENTATION, SIEVE, NOTIFY, SASL,
// STARTTLS, MAXREDIRECTS, UNAUTHENTICATE and VERSION "1.0"),
// STARTTLS, AUTHENTICATE through an auth.Authenticator (every SASL
// mechanism it offers, initial responses, "*" to abort, SASL
// response codes for final data), LOGOUT, NOOP (with TAG),
// UNAUTHENTICATE, PUTSCRIPT, CHECKSCRIPT, HAVESPACE, LISTSCRIPTS,
// SETACTIVE, GETSCRIPT, DELETESCRIPT and RENAMESCRIPT, with the
// response codes QUOTA/MAXSCRIPTS, QUOTA/MAXSTORAGE, QUOTA/MAXSIZE,
// NONEXISTENT, ACTIVE, ALREADYEXISTS, ENCRYPT-NEEDED, TRYLATER, SASL
// and TAG. Literals are accepted in both forms, {n+} and {n}, without
// a continuation, as Dovecot's Pigeonhole does.
//
// Scripts live behind the Scripts interface; sievestore.Store keeps
// them as Pigeonhole does, so Dovecot and yubin can share a user's
// scripts. Scripts are compiled by Server.Check, which a program
// wires to its Sieve compiler; replies follow Pigeonhole 2.3's words
// so that clients written against Dovecot see what they expect.
//
// Limits: a line outside literals (MaxLineLength), a script
// (MaxScriptSize, Pigeonhole's sieve_max_script_size; larger ones
// are refused with QUOTA/MAXSIZE and skipped, much larger ones end the
// session), anything before login (MaxAuthSize), bad commands
// (MaxBadCommands), commands before login (MaxLoginCommands),
// connections per address before login, and timeouts. Go error text
// never reaches a client: errors that are not *Error, *ScriptError or
// the sievestore errors are logged and answered NO (TRYLATER).
//
// Implementation notes: each connection is served by one goroutine
// that reads a whole command (its literals included, each bounded
// before it is allocated), runs it, and buffers the reply, which is
// flushed before the next read. A literal over the limit is answered
// from its announcement, before its data arrives. Check, the Backend
// and Scripts run on that goroutine with the session's context, which
// Close (or a Shutdown whose context ends) cancels; the server keeps
// no state between sessions but the connection counts, and leaves
// the consistency of concurrent writes to one user's scripts to
// Scripts (sievestore: atomic renames, no locks, as Pigeonhole).
package managesieve
