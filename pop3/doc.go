// Package pop3 is a POP3 server over yubin's store: the part of Dovecot's
// pop3 service a mail host needs, as a library with net/http's shape
// (Server, Serve, ListenAndServe, ServeTLS, Shutdown, Close).
//
// It implements:
//
//   - RFC 1939: USER, PASS, APOP, STAT, LIST, RETR, DELE, NOOP, RSET,
//     QUIT, TOP, UIDL and the AUTHORIZATION, TRANSACTION and UPDATE
//     states. Messages marked with DELE are removed only when the client
//     sends QUIT; a session that ends any other way (disconnect, timeout,
//     an interrupted RETR, Shutdown) removes nothing.
//   - RFC 2449: CAPA with TOP, UIDL, USER, SASL, RESP-CODES,
//     AUTH-RESP-CODE, PIPELINING, LOGIN-DELAY and EXPIRE, the response
//     codes [IN-USE], [LOGIN-DELAY], [SYS/TEMP], [SYS/PERM] and [AUTH]
//     (RFC 3206), and the 255-octet command line limit (answered with a
//     clear -ERR; the session goes on).
//   - RFC 2595 STLS, and implicit TLS (RFC 8314, port 995) with ServeTLS.
//   - RFC 5034 SASL AUTH through an auth.Authenticator, with an initial
//     response on the AUTH line ("=" for an empty one).
//
// # Dovecot behaviours
//
// Only INBOX is visible. UIDLFormat is Dovecot's pop3_uidl_format with
// its variables (%u UID, %v UIDVALIDITY, %f Maildir file name, %g GUID)
// and default "%08Xu%08Xv"; as in Dovecot the X modifier prints
// lower-case hex, so UIDLs equal Dovecot's for the same Maildir and stay
// stable across sessions and restarts as long as the store keeps its
// UIDs. LockSession is pop3_lock_session ([IN-USE] for a second session
// of the same user), NoFlagUpdates is pop3_no_flag_updates (RETR does not
// set \Seen). Plaintext USER/PASS is refused before TLS unless the
// Authenticator allows it (disable_plaintext_auth). APOP is offered only
// when plaintext credentials can be looked up (Server.Credentials, for
// example an *auth.PasswdFile, or an Authenticator that implements
// auth.CredentialLookup); APOP names are formatted by the
// Authenticator's Normalize when it has one (auth.Service:
// auth_username_format). With an auth.Service as Authenticator, APOP
// runs through its Attempt, so it shares the policy of USER/PASS and
// AUTH: the per-IP penalty (a failed APOP delays the address's next
// APOP, USER/PASS or AUTH; a success clears it) and the failure delay;
// with other Authenticators a failed APOP waits APOPFailureDelay (2 s,
// auth_failure_delay) before its answer. MaxUserIPConnections is
// mail_max_userip_connections (default 10, answered [IN-USE] as
// Dovecot does, naming the setting). MaxConnections is process_limit of
// service pop3 (default 1024, all connections); LoginMaxConnectionsPerIP
// (default 50, Postfix's smtpd_client_connection_count_limit; Dovecot
// has no per-address pre-login limit) bounds one address's connections
// in the AUTHORIZATION state; over either a connection gets "-ERR
// [SYS/TEMP] ... (setting=N)." and is closed, and the refusal is logged.
// TestAbusePOP3... probe the limits over real sockets. Replies
// follow Dovecot's wording where it has one ("There's no message 3.",
// "Message is deleted.", "+OK 2 messages:", "+OK 78 octets"); the
// Dovecot differential test compares them byte for byte.
//
// # Implementation notes
//
// At login a session takes a snapshot of INBOX (UID, size, GUID, file
// name per message): message numbers and sizes do not change during the
// session, as RFC 1939 requires, even when IMAP sessions change the
// mailbox meanwhile. A message removed elsewhere answers RETR and TOP
// with "-ERR [SYS/TEMP]". Sizes are store.MessageInfo.Size (LF counted as
// CRLF) and messages are sent through store.NewCRLFReader, dot-stuffed.
//
// At QUIT the marked messages get \Deleted and are expunged through the
// store by UID, so other sessions on the mailbox (IMAP IDLE included) see
// them go through their Poll; messages another session flagged \Deleted
// are left alone. \Seen for retrieved messages is stored in one call when
// the session ends (at QUIT, or at a disconnect after complete RETRs),
// not per RETR.
//
// The pop3_lock_session lock (LockSession) has two parts. The Server
// keeps the users with a session in the TRANSACTION state, so that a
// second session of the same Server is refused at once, without touching
// the disk. Then, when the user's Store implements store.SessionLocker,
// the session takes the Store's session lock before it reads INBOX and
// keeps it until the session ends (after QUIT's expunge). maildir's is
// Dovecot 2.3's dovecot-pop3-session.lock dotlock in the Maildir root,
// so a Dovecot pop3 with pop3_lock_session = yes, a second yubin process
// or another Server on the same Maildir keep each other out. The lock
// belongs to the session, not to the Store: sessions sharing one Store
// through a maildir.Backend exclude each other too. A login waits up to
// Server.LockSessionWait (2 s by default) for a lock held elsewhere and is then answered
// "-ERR [IN-USE] Mailbox is locked by another POP3 session.", Dovecot's
// reply. A session whose lock is found taken over by someone else while
// it is held (store.SessionLock.Lost) answers its next command "-ERR
// [SYS/TEMP] Couldn't update POP3 session lock." and ends with nothing
// deleted, as Dovecot's does. A Store without a session lock is locked
// within the Server only; a store error matching store.ErrMailboxInUse is answered
// [IN-USE] as well.
//
// Replies are buffered and flushed when the client has no further
// pipelined command waiting. Go error text never reaches the client:
// store and authenticator errors become fixed replies and are logged.
package pop3
