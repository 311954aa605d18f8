// Package smtpwire is the wire code that yubin's smtp and lmtp packages
// share: reading command lines with a length limit, splitting them into a
// verb and arguments, parsing MAIL/RCPT paths and their ESMTP parameters,
// writing (multi-line, enhanced-status) replies, reading DATA with
// dot-unstuffing and a size limit, and reading BDAT chunks.
//
// It implements the syntax parts of RFC 5321 (SMTP) sections 2.3.8, 4.1.1,
// 4.1.2, 4.2, 4.5.2 and 4.5.3.1, RFC 2033 (LMTP, same wire), RFC 3030
// (CHUNKING), RFC 1870 (SIZE), RFC 2034/3463 (enhanced status codes) and
// RFC 6531 (SMTPUTF8 addresses).
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
