// Package smtpwire is the wire code that yubin's smtp and lmtp packages
// share: reading command lines with a length limit, splitting them into a
// verb and arguments, parsing MAIL/RCPT paths and their ESMTP parameters,
// writing (multi-line, enhanced-status) replies, reading DATA with
// dot-unstuffing and a size limit, and reading BDAT chunks; and the one
// SMTP/LMTP client engine (Client) under smtp.Client, lmtp.Client and the
// queue's transports, with the error type both protocols share (Error,
// Enhanced; smtp.Error and lmtp.Error are aliases of it).
//
// It implements the syntax parts of RFC 5321 (SMTP) sections 2.3.8, 4.1.1,
// 4.1.2, 4.2, 4.5.2 and 4.5.3.1, RFC 2033 (LMTP, same wire), RFC 3030
// (CHUNKING), RFC 1870 (SIZE), RFC 2034/3463 (enhanced status codes) and
// RFC 6531 (SMTPUTF8 addresses); for the client also RFC 2920
// (PIPELINING), RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 3461 (DSN
// parameters, xtext) and RFC 2033 4.2 (LMTP replies per recipient).
//
// # Client engine
//
// Client reads the greeting, says EHLO (HELO when an SMTP server refuses
// it) or LHLO, parses the extension keywords and their parameters,
// upgrades with STARTTLS (refusing a server that sends data before the
// handshake, CVE-2011-0411) and says EHLO again, authenticates with a
// go-sasl client (334 continuations; an initial response too long for a
// command line goes after an empty challenge), and runs transactions with
// Send: MAIL, RCPT and DATA or BDAT, pipelined when offered, the first
// BDAT chunk with MAIL and RCPT, results per recipient.
//
// Validation: every value the engine writes is checked first and a
// refused one is a *FieldError, never written: addresses (ParseMailbox
// syntax, no control character even in a quoted local part, a bare user
// name only for LMTP), the EHLO name, SIZE, BODY, RET, NOTIFY, ENVID,
// ORCPT and AUTH= (these three as xtext; the engine does not encode them,
// it refuses invalid xtext; EncodeXtext is for callers with raw values),
// SASL mechanism names. SASL responses are base64. A last guard in the
// line writer refuses any command line with CR, LF or NUL.
//
// Timeouts: each phase (connect, greeting and EHLO, STARTTLS, MAIL,
// RCPT, DATA, content transfer without progress, the reply after the
// data, RSET, QUIT) has its own limit in Timeouts, as Postfix's
// smtp_*_timeout; the context's deadline and cancellation bound every
// operation as well. A reply is at most MaxReplyLines lines of
// MaxReplyLineLength bytes, so a server that never ends its reply, or
// sends garbage, fails the call at once with ErrReplyTooLong or
// ErrBadReply. After an I/O error, a timeout, a malformed reply or a 421
// the connection is closed and the Client returns ErrClientClosed.
//
// Content: DotWriter (DATA) and CRLFReader (BDAT) turn every bare CR and
// bare LF into CRLF, as Postfix's smtp client sends only CRLF lines, so
// a message is the same bytes over DATA and BDAT and no smuggling
// sequence ("\n.\n", "\r.\r", "\r\n.\r"...) can end DATA early at a
// lenient next hop. BODY=BINARYMIME content goes by BDAT as it is. The
// LMTP client sends DATA only (no BDAT).
//
// # Implementation notes
//
// Bare LF: like Postfix's smtpd_forbid_bare_newline = normalize (the
// default from Postfix 3.9 on), a line that ends in a bare LF is accepted
// and passed on as if it ended in CRLF, but the end of DATA is recognised
// only as <CRLF>.<CRLF>. "\n.\n" therefore never ends a message, which
// closes the SMTP smuggling hole. BareLFReject makes the reader fail with
// ErrBareLF at the first bare LF instead; Discard then reads on to the
// terminator so the session stays in step.
//
// Bare CR: as Postfix 3.7's smtpd does (checked against it by
// smtp.TestPostfixBareCR), a CR is never a line end. The CRs before a
// line's LF are one line end ("a\r\r\n" is the line "a"), and any other
// CR becomes a space, so "\r.\r\n" is stored as " .\r\n" and nothing in
// the stored message can end the data at a lenient next hop. NUL bytes
// pass unchanged. BDAT chunks (ChunkReader) are binary and pass as
// they are; the outbound DotWriter normalises what it sends.
//
// Over-size data: once more than MaxSize bytes have been produced, Read
// fails with ErrTooBig; Discard then reads the rest up to the terminator
// through a fixed buffer, so an over-size message is never held in memory.
package smtpwire
