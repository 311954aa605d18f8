// Package imap is an IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501)
// server over yubin's store contract, shaped like net/http: a Server with
// exported limits, Serve / ListenAndServe / ListenAndServeTLS and
// Shutdown.
//
// A program wires in an auth.Authenticator (LOGIN, AUTHENTICATE with
// SASL-IR) and a store.Backend (a user's mailboxes, e.g. maildir):
//
//	srv := &imap.Server{Addr: ":143", TLSConfig: cfg, Authenticator: authSvc, Backend: be}
//	go srv.ListenAndServe()           // STARTTLS on 143
//	go srv.ListenAndServeTLS("", "")  // implicit TLS on 993 (Addr ":993")
//
// # Extensions
//
// IDLE (RFC 2177), UIDPLUS (RFC 4315), MOVE (RFC 6851), NAMESPACE
// (RFC 2342), SPECIAL-USE and CREATE-SPECIAL-USE (RFC 6154),
// LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), CHILDREN (RFC 3348),
// UNSELECT (RFC 3691), ID (RFC 2971), ENABLE (RFC 5161), LITERAL+
// (RFC 7888), SASL-IR (RFC 4959), STARTTLS and LOGINDISABLED (RFC 2595),
// ESEARCH (RFC 4731), SEARCHRES (RFC 5182), CONDSTORE and QRESYNC
// (RFC 7162), QUOTA (RFC 9208), APPENDLIMIT (RFC 7889), BINARY
// (RFC 3516), MULTIAPPEND (RFC 3502), UTF8=ACCEPT (RFC 6855),
// STATUS=SIZE (RFC 8438), SAVEDATE (RFC 8514) and OBJECTID (RFC 8474),
// SORT and THREAD=REFERENCES / THREAD=ORDEREDSUBJECT (RFC 5256),
// THREAD=REFS (draft-ietf-morg-inthread, as Dovecot has it),
// SORT=DISPLAY (RFC 5957), ESORT (RFC 5267), WITHIN (RFC 5032) and
// PARTIAL (RFC 9394: RETURN (PARTIAL lo:hi) in SEARCH and SORT, ranges
// from the end included) and COMPRESS=DEFLATE (RFC 4978; inflated input
// keeps every line and literal limit, TestCompressBomb) and PREVIEW
// (RFC 8970, Dovecot's 200-character snippet rules, TestDovecotPreview),
// and, when Server.Metadata is set (FileMetadata keeps a JSON file per
// user), METADATA (RFC 5464: server and mailbox entries, DEPTH, MAXSIZE,
// entries following RENAME and going with DELETE; TestDovecotMetadata),
// and CATENATE (RFC 4469: TEXT literals and IMAP URLs of the user's own
// messages and sections, relative or absolute; URLAUTH URLs refused;
// the APPENDLIMIT holds for the whole message; TestDovecotCatenate),
// and NOTIFY (RFC 5465: the selected mailbox's events from the store's
// change notifications, MessageNew's fetch attributes, STATUS for
// other mailboxes and LIST for mailbox and subscription changes, looked
// at after each command and every Server.NotifyPollInterval in IDLE;
// TestDovecotNotify), and CONTEXT=SEARCH (RFC 5267: SEARCH RETURN
// (UPDATE) kept up to date with ADDTO and REMOVEFROM for every change of
// the selected mailbox, the session's own included, CANCELUPDATE; at
// most 10 contexts per selection, NOUPDATE beyond;
// TestDovecotContextSearch), CONTEXT=SORT (SORT RETURN (UPDATE): ADDTO
// and REMOVEFROM carry positions in the sorted result, to be applied in
// order; at most 5 sorted contexts per selection; Dovecot 2.3 has none,
// so TestContextSort checks the RFC's rules by applying the updates to
// a client's copy), and, when
// Server.ACL is set, ACL (RFC 4314) and LIST-MYRIGHTS (RFC 8440) for the
// user's own mailboxes: FileACL keeps Dovecot's dovecot-acl files, the
// owner's rights are computed as Dovecot's vfile ACLs compute them, and
// LIST, SELECT, EXAMINE and STATUS follow the lookup and read rights,
// CREATE below a mailbox needs its create right, DELETE and RENAME the
// delete right, and a new mailbox takes its parent's list; the rights
// on messages are enforced as Dovecot's acl plugin enforces them: flags
// kept only with s (\Seen), t (\Deleted) and w (the others) in STORE,
// FETCH, APPEND and COPY, left alone in silence otherwise; APPEND, COPY
// and MOVE into need i, MOVE out and EXPUNGE e; SELECT is READ-ONLY
// without any right to change the mailbox, and PERMANENTFLAGS follow
// the rights; FileACL keeps Dovecot's dovecot-acl-list too
// (TestDovecotACL, TestDovecotACLMessageRights, TestDovecotACLListFile
// against Dovecot's acl and imap_acl plugins); with Server.Shared, the
// mailboxes other users shared with SETACL appear under shared/OWNER/
// (NAMESPACE's other users' namespace; shared/OWNER is the owner's
// INBOX, as in Dovecot) with the grantee's rights, \Seen kept per user
// (SharedNamespace.PrivateDir, Dovecot's INDEXPVT) and the owners listed
// from FileACL.SharedDict, Dovecot's acl_shared_dict
// (TestDovecotSharedNamespace); and, when
// Server.URLAuth is set, URLAUTH (RFC 4467: GENURLAUTH with the INTERNAL
// mechanism, HMAC-SHA1 under a per-mailbox access key as Dovecot signs,
// RESETKEY, and URLFETCH answered by the IMAP server itself, other
// users' messages included when the access identifier allows; keys go
// with DELETE and RENAME; TestURLAuth; Server.FetchSubmitURL resolves
// "submit+" URLs for a submission server's BURL, RFC 4468) and
// URL-PARTIAL (RFC 5550).
//
// SEARCH, SORT and THREAD compare i;unicode-casemap forms (I18NLEVEL=1,
// RFC 5255: titlecased, then decomposed one level as Dovecot does;
// TestDovecotI18NLevel1) of header fields and bodies, base subjects and
// first addresses; a message without a valid Date:
// sorts by its internal date. Their keys are read from message headers
// once and kept for all sessions (Server.SortCacheMessages), as Dovecot
// keeps sort data in its index, and in the store when it is a
// store.MessageDataStore (SortKeysDataName; DeriveMessageData computes
// them for a store at append time), so a restarted server does not read
// every message again; FETCH ENVELOPE is kept there too
// (EnvelopeDataName). A SORT or THREAD over ALL is answered from a
// result kept per mailbox and sort program, which new and expunged
// messages update rather than sort again: SORT by binary insertion,
// THREAD REFERENCES and REFS through RFC 5256's link graph (a new
// message is the next step of its linking; only the threads it touches
// are derived again), ORDEREDSUBJECT by subject group. Kept results
// count against Server.SortCacheMessages. Results equal Dovecot 2.3's on the same
// Maildir (TestDovecotSortThread), including its REFERENCES quirks for
// loops, duplicate Message-IDs and subject merging. SEARCH, SORT and
// THREAD accept any charset the server can decode (go-message's
// charsets) and answer NO [BADCHARSET] for others, as Dovecot does.
//
// # Dovecot behaviours kept
//
// Limits default to Dovecot's: a 64 KiB command line
// (imap_max_line_length), 10 sessions per user and IP
// (mail_max_userip_connections), 30 minutes of autologout, "* OK Still
// here" every 2 minutes during IDLE (imap_idle_notify_interval). Before
// TLS, plaintext LOGIN is refused with LOGINDISABLED and [PRIVACYREQUIRED]
// when the Authenticator says so (disable_plaintext_auth). Mailbox names
// use "/" as the hierarchy separator and modified UTF-7 on the wire.
// Response texts and codes follow Dovecot's where clients look at them.
// A session whose selected mailbox is deleted (or gets a new
// UIDVALIDITY) under it is told "* BYE IMAP session state is
// inconsistent, please relogin." and disconnected, as Dovecot 2.3 does
// with or without QRESYNC (TestDovecotDeletedSelectedMailbox).
// RENAME of the selected mailbox (or of a parent) keeps the session in
// it under the new name; Dovecot 2.3 answers the RENAME OK too and then
// disconnects with that BYE (TestDovecotRenameSelected). NUL bytes,
// which IMAP literals must not hold, go out as 0x80 in message content
// and as U+FFFD in ENVELOPE strings; BINARY keeps them in literal8
// (TestDovecotFetchNUL). Names beginning with "~" are refused at CREATE
// and RENAME, and answered NO [CANNOT] wherever a mailbox is named, as in
// Dovecot; "~" is otherwise an ordinary atom character (RFC 3501 9), so
// LIST "" ~foo is a pattern, not a broken literal8.
//
// # Conformance with Dovecot's answers
//
// IMAP4rev1 sessions get RFC 3501's \Recent with Dovecot's semantics:
// a message is recent in exactly one session, the first whose store
// handle sees it (a read-write SELECT, or the selected session when it
// arrives); "* n RECENT" follows SELECT/EXAMINE's EXISTS and every
// change of the count; STATUS RECENT counts what no session claimed
// yet; SEARCH NEW/OLD/RECENT and FETCH FLAGS use it. APPEND to a
// mailbox that is not selected goes through the store's Deliver when it
// has one, so the message stays recent for the next session. IMAP4rev2
// sessions never see \Recent (RFC 9051). A keyword the client's last
// FLAGS response did not list is announced with FLAGS and
// PERMANENTFLAGS before any FETCH shows it (RFC 3501 7.2.6), whoever set
// it. Mailbox updates go out in Dovecot's order: expunges, EXISTS,
// RECENT, FLAGS, then one FETCH per changed message with its latest
// flags. The first mod-sequence command of a session that did not
// enable CONDSTORE is answered "* OK [HIGHESTMODSEQ n]" (RFC 7162
// 3.1.2). A FETCH of a message another session expunged answers from
// the parse cache what it can (ENVELOPE, BODYSTRUCTURE), NIL for content
// that is gone, and OK [EXPUNGEISSUED] only then. TestDovecotDifferential
// runs the same two-session scripts against Dovecot 2.3's imap and
// against this server on copies of one Maildir corpus and compares the
// responses once what may legitimately differ is normalised.
//
// \Recent is coordinated between the sessions of one store.Store
// (maildir.Backend shares one per user, as examples/fullserver does):
// separate processes on one Maildir (two yubin processes, or yubin and
// Dovecot) may each hold a message as recent.
//
// # Connection limits
//
// The settings a Dovecot administrator knows map to Server fields:
// process_limit of service imap (one process per session, default 1024)
// is MaxConnections, counted over all connections; Dovecot has no
// per-address limit before login (its imap-login client_limit bounds
// only the total), so LoginMaxConnectionsPerIP (default 50, Postfix's
// smtpd_client_connection_count_limit; IPv6 counted per /64) bounds
// the connections of one address that have not logged in;
// mail_max_userip_connections is MaxUserIPConnections. A connection
// over a limit is answered "* BYE ... (setting=N)." and closed, and
// every refusal is logged ("imap: connection refused", "imap: login
// refused"). MaxMailboxes (default 10000; Dovecot has no such limit)
// caps a user's mailboxes: CREATE beyond it gets NO [LIMIT]. Brute
// force across many connections is the Authenticator's to bound
// (auth.Service queues one address's concurrent attempts behind its
// penalty). The accept loop survives running out of file descriptors
// (internal/serve). TestAbuseIMAP... probe all of this over real
// sockets.
//
// FETCH's ENVELOPE, BODYSTRUCTURE, BODY[section]<partial> and BINARY
// come from imap/imapmsg (parsed once, kept in Server.MessageCache);
// BODY[] and RFC822 stream the stored file through store.NewCRLFReader
// without parsing. TestDovecotFetchSameAsDovecot checks the answers
// byte for byte against Dovecot's imap on the same Maildir. OBJECTID's
// MAILBOXID is derived from UIDVALIDITY (the store has no mailbox GUID)
// and EMAILID from the store's message GUID. THREADID is always NIL and
// SEARCH THREADID matches nothing, as RFC 8474 5.2 allows for a server
// that does not thread: a stable thread id needs a per-user index of
// Message-ID/References across mailboxes that the store does not keep
// (THREAD and SORT are separate work as well).
//
// # Alerts
//
// [ALERT] (RFC 9051 7.1) comes from three places: Server.LoginAlert
// (the program's message at login), Server.Alert (an administrator's
// message to the live sessions of one user or of everyone, sent at once
// to sessions in IDLE and before the next tagged response to the
// others) and Server.QuotaWarnPercent. An authentication failure whose
// error implements AlertReason (a passdb "reason") is answered
// "NO [ALERT] reason", as Dovecot's imap-login does.
//
// # MULTIAPPEND
//
// The store appends one message at a time, so APPEND keeps the UIDs it
// stored and removes them again (\Deleted, then UID EXPUNGE through the
// same handle) when anything ends the command early: a refused literal,
// a syntax error, a store error, or a client that hangs up (a cut-off
// literal is never stored). Sessions that poll in between may see the
// messages come and go; the selected session itself is told of them
// only when the command succeeds. After a failure the rest of the
// command line is skipped, non-synchronizing literals included, so
// message text is never read as commands.
//
// # Implementation notes
//
// Each connection is one goroutine (plus one reader goroutine while in
// IDLE). A session holds connection state; mailbox state lives in the
// store. The session's sequence-number view (view.go) holds the UIDs the
// client knows, in order. The session polls its store.Mailbox handle only
// where it may report everything the poll returned: after commands other
// than FETCH, STORE and SEARCH by sequence number (RFC 9051 7.5.1 forbids
// EXPUNGE during those), on NOOP/CHECK, and during IDLE when the handle's
// Notify channel fires. So the view always agrees with the handle when a
// command resolves sequence numbers, and a sequence range a:b is exactly
// the UID range uid(a):uid(b) — "1:*" stays one range however large the
// mailbox.
//
// The parser reads one command at a time with a per-command byte budget
// (literal strings held in memory count against it). A literal's size is
// checked before anything is allocated or a continuation is sent: too
// large a synchronizing literal is refused with [TOOBIG] and never
// arrives; a non-synchronizing one is discarded up to 1 MiB, beyond which
// the connection is closed. APPEND literals are streamed into the store.
// Responses go through a 16 KiB buffer; every socket write has a
// deadline (WriteTimeout), so a client that stops reading is
// disconnected instead of growing memory. Go error text never reaches
// the wire: store errors map to response codes, anything else is logged
// and answered with [SERVERBUG].
package imap
