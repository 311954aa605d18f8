// Package lmtp is an LMTP server and client (RFC 2033): the local
// delivery hop between an MTA and the mail store, as Postfix's
// "mailbox_transport = lmtp:unix:private/dovecot-lmtp" and Dovecot's LMTP
// service make it.
//
// # Server
//
// Server has the net/http shape (Serve, ListenAndServe, Shutdown, Close,
// exported limits and timeouts) and listens on TCP or on a unix socket
// whose mode and owner it sets (ListenUnix; Dovecot's
// "unix_listener lmtp { mode = 0600 user = postfix }"). It speaks LHLO,
// MAIL, RCPT, DATA, BDAT (RFC 3030), RSET, NOOP, VRFY, QUIT and STARTTLS
// (RFC 3207), with PIPELINING, 8BITMIME, SMTPUTF8 and ENHANCEDSTATUSCODES,
// and answers DATA or BDAT LAST with one reply per accepted recipient
// (RFC 2033 4.2).
//
// A Deliverer judges recipients and stores the message.
// StoreDeliverer is the Dovecot-like one: recipients are looked up in an
// auth.UserDB ("550 5.1.1 <x> User doesn't exist: x"), the quota is
// checked per recipient ("552 5.2.2 <x> Quota exceeded (mailbox for user
// is full)"), the message is appended to INBOX of the user's store.Store
// or, with DetailMailbox (lmtp_save_to_detail_mailbox), to the mailbox
// named by the +detail of the address when it exists. Every delivered
// copy starts with Return-Path, Delivered-To and a Received header, as
// Dovecot's LMTP writes them.
//
// # Client
//
// Client is what an MTA needs to hand mail to an LMTP server (Dovecot's,
// or this package's), over TCP or a unix socket: LHLO, STARTTLS, and
// Send or SendOpts (the MAIL and RCPT options of smtp.Client.Send:
// SIZE, BODY, SMTPUTF8, DSN), which pipeline MAIL, RCPT and DATA when
// offered and read one reply per accepted recipient after the data (RFC
// 2033 4.2), returning a result per recipient. Timeouts bounds each phase
// as Postfix's lmtp_*_timeout parameters do. It is the client engine of
// internal/smtpwire that smtp.Client uses too, with the same checks of
// every value it writes (no caller value can inject a command; see
// FieldError) and the same CRLF-only, dot-stuffed content.
//
// Error and Enhanced are the same types as smtp.Error and smtp.Enhanced,
// so errors.As with either finds a reply from either package.
//
// # Implementation notes
//
// The message is read once from the connection into a spool (memory up
// to MaxMemorySpool, then an unlinked temporary file) and delivered to
// the recipients one after another from fresh readers of it; each
// recipient's reply is sent only after its Append returned, and
// store.Mailbox.Append returns only after the message is on stable
// storage. A client that vanishes mid-DATA leaves nothing delivered. The
// wire code (command and address parsing, DATA dot-unstuffing and bare LF
// handling, BDAT chunks, replies) is shared with package smtp through
// internal/smtpwire.
package lmtp
