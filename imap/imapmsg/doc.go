// Package imapmsg is the message-structure half of the IMAP server: it
// parses a stored message's MIME tree once, without holding the body in
// memory, and produces what FETCH and SEARCH need from it.
//
//   - Parse walks a message read through an io.ReaderAt and records, for
//     every MIME part, where its header and body start and how long they
//     are in the CRLF-normalised view IMAP clients see (a store may keep
//     bare LF line endings; see store.NewCRLFReader), the body's line
//     count, and the Content-* fields BODYSTRUCTURE reports. The top-level
//     header and the header of every message/rfc822 part are kept, so
//     ENVELOPE and header SEARCH keys need no further I/O.
//   - Cache keeps parsed messages in a byte-bounded LRU so a second FETCH
//     of the same message does not parse it again.
//   - WriteEnvelope and WriteBodyStructure write the IMAP wire syntax of
//     ENVELOPE, BODY and BODYSTRUCTURE (RFC 9051 7.5.2, RFC 3501 7.4.2).
//   - ParseSectionSpec parses a FETCH section ("1.2.HEADER.FIELDS (To)"),
//     and Message.Section returns the bytes of BODY[section]<partial>;
//     Message.Binary and Message.BinarySize serve BINARY[...] and
//     BINARY.SIZE[...] (RFC 3516), decoding base64 and quoted-printable.
//   - MatchHeader, MatchBody and MatchText implement SEARCH's HEADER /
//     FROM / TO / CC / BCC / SUBJECT, BODY and TEXT keys: case-insensitive
//     substring matching after RFC 2047 decoding of header fields and
//     transfer-encoding and charset decoding of text parts. Date and
//     SentDate serve SENTBEFORE/SENTON/SENTSINCE.
//
// Methods that need message bytes beyond the kept headers take the
// message's io.ReaderAt again (a store.MessageReader is one), so a cached
// *Message never holds an open file. A *Message is immutable after Parse
// and safe for concurrent use.
//
// RFCs: 9051 and 3501 (FETCH and SEARCH semantics), 5322 (message and
// address syntax, with obsolete forms accepted), 2045-2047 and 2231 (MIME
// structure, encodings, encoded words, parameter continuations), 2183
// (Content-Disposition), 3516 (BINARY).
//
// # Dovecot behaviours kept
//
// The output follows what Dovecot 2.3 prints for the same message (the
// TestDovecot tests compare them byte for byte): strings carrying 8-bit
// bytes, CR or LF are sent as literals; a missing Content-Type is
// reported as ("text" "plain" ("charset" "us-ascii")) and a missing
// Content-Transfer-Encoding as "7bit"; addresses without a domain get
// "MISSING_DOMAIN", an empty address part "MISSING_MAILBOX"; group syntax
// is written as RFC 9051 asks (a start marker with the group name and NIL
// host, then an end marker of four NILs).
//
// # Implementation notes
//
// Offsets and sizes are those of the CRLF view: a bare LF counts as two
// bytes, an existing CRLF as two, a lone CR as one. Parse keeps sparse
// checkpoints mapping CRLF-view offsets back to stored offsets, so a
// partial fetch deep into a large part reads at most one checkpoint
// interval that it does not return.
//
// Malformed MIME never fails a parse: a multipart without its boundary is
// one opaque part, a missing close delimiter ends the part at the end of
// its parent, and parts beyond Limits.MaxParts or Limits.MaxDepth are not
// split further (their content stays in the enclosing part's body). Only
// an I/O error from the reader fails Parse.
package imapmsg
