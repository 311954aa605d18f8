// Package msgauth signs outgoing mail with DKIM and judges incoming mail
// by DKIM, SPF and DMARC, the checks a Postfix host gets from the
// OpenDKIM, OpenDMARC and policyd-spf milters.
//
// It wraps github.com/emersion/go-msgauth (DKIM, DMARC records,
// Authentication-Results) and blitiri.com.ar/go/spf (SPF) with an
// injected [Resolver], limits on every input ([Limits]) and log/slog.
//
//   - [Signer]: DKIM signatures (RFC 6376), relaxed/relaxed, rsa-sha256
//     and ed25519-sha256 (RFC 8463) — typically both, one per key — with
//     From, Subject and To oversigned. Keys come from a [KeyStore]: a
//     simple per-domain map ([DomainKeys]) or OpenDKIM's KeyTable and
//     SigningTable ([LoadOpenDKIMTables]). [GenerateKey] and
//     [ZoneRecord] make a key and the TXT record to publish.
//   - [Verifier]: DKIM verification of at most Limits.MaxDKIMSignatures
//     signatures per message.
//
// Implementation notes: a message is read once, as a stream; only its
// header section (bounded by Limits.MaxHeaderBytes) is held in memory.
// Bare LF line ends are treated as CRLF, as they are on the wire.
package msgauth
