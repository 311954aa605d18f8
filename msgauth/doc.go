// Package msgauth signs outgoing mail with DKIM and judges incoming mail
// by DKIM, SPF and DMARC, the checks a Postfix host gets from the
// OpenDKIM, OpenDMARC and policyd-spf milters.
//
// It wraps github.com/emersion/go-msgauth (DKIM signing, DMARC records,
// Authentication-Results) and blitiri.com.ar/go/spf (SPF) with an
// injected [Resolver], limits on every input ([Limits]) and log/slog.
// DKIM and ARC verification run on msgauth's own canonicalization with
// go-msgauth's rules and verdicts (fuzzed against the library): one pass
// over the body hashes it for every signature, a [KeyCache] keeps
// parsed keys and a [ResultCache] SPF results and DMARC records, which
// took the inbound check from 151 to about 60 us of CPU per 4 KiB
// RSA-2048-signed message (BenchmarkCheckWarm). RSA verification, half
// of that, runs on filippo.io/bigmod (the arithmetic crypto/rsa is
// built on, published on its own) with the key's modulus set up once
// and kept with the parsed key, where crypto/rsa sets it up again at
// every call: 31 to 21 us, the check 54 to 43 us. Ed25519 verification
// (crypto/ed25519, about 50 us) is now the dearer of the two.
//
//   - [Signer]: DKIM signatures (RFC 6376), relaxed/relaxed, rsa-sha256
//     and ed25519-sha256 (RFC 8463) — typically both, one per key — with
//     From, Subject and To oversigned. Keys come from a [KeyStore]: a
//     simple per-domain map ([DomainKeys]) or OpenDKIM's KeyTable and
//     SigningTable ([LoadOpenDKIMTables]). [GenerateKey] and
//     [ZoneRecord] make a key and the TXT record to publish.
//
//   - [Verifier]: inbound checks. [Verifier.VerifyDKIM] verifies at most
//     Limits.MaxDKIMSignatures signatures; [Verifier.CheckSPF] evaluates
//     SPF (RFC 7208) with its DNS lookup and void lookup limits, after
//     checking the whole record's syntax (section 4.6); [Verifier.Check]
//     does both and evaluates the From domain's DMARC policy (RFC 7489:
//     organizational domain by the public suffix list, relaxed or strict
//     alignment, p=, sp=, pct=). [Results.Header] states the outcome as
//     an Authentication-Results field (RFC 8601); [StripAuthResults]
//     removes fields that claim the receiver's own authserv-id.
//
//   - ARC (RFC 8617), written here on msgauth's own canonicalization
//     (the library has no ARC): [Verifier.Check] validates the chain
//     ([ARCResult]: structure of sets 1..N, N <= 50, cv= of each seal,
//     the newest ARC-Message-Signature, every ARC-Seal, oldest-pass) and
//     reports it as arc= in Authentication-Results; a DMARC failure is
//     excused only when the chain passes and a sealer listed in
//     Verifier.TrustedARCSealers recorded dmarc=pass for the From domain
//     (empty by default, as in OpenDMARC). [ARCSealer] adds this host's
//     ARC set to mail it forwards ([ARCSealer.SealForwarded] at the point
//     where checked mail leaves again); a chain that cannot be numbered
//     is sealed cv=fail. dkimpy (Debian's python3-dkim)
//     validates yubin's seals and yubin dkimpy's with the same verdicts
//     (TestDkimpy*).
//
//   - [PolicyServer]: Postfix's policy delegation protocol answering SPF
//     verdicts, as policyd-spf does, for check_policy_service in
//     smtpd_recipient_restrictions (550 5.7.23 on fail).
//
//   - [CachingResolver]: a TTL cache in front of any [Resolver], so that
//     a warm cache makes the checks cost no DNS round trip.
//
// Bad input is bounded: the header section by Limits.MaxHeaderBytes and
// MaxHeaderFields, ARC chains by MaxARCSets and MaxARCFieldBytes (at
// most 100 key lookups and 100 signature checks), DKIM work by MaxDKIMSignatures (a message with 1,000
// signatures costs 5 key lookups), each TXT answer by MaxTXTRecords and
// MaxTXTBytes, all DNS work of one check by Limits.Timeout.
//
// Verdicts are compared with the reference implementations: OpenDKIM
// verifies yubin's signatures and yubin OpenDKIM's, pyspf gives the same
// SPF results over a few hundred policies, and OpenDMARC the same DMARC
// results (see the TestOpenDKIM*, TestPyspf* and TestOpenDMARC* tests).
// Known differences: after a void PTR lookup pyspf counts a second ptr
// term as another void lookup, the library reuses the answer; OpenDMARC
// 1.4.2 accepts a subdomain under adkim=s (an upstream bug).
//
// Implementation notes: a message is read once, as a stream; only its
// header section (bounded by Limits.MaxHeaderBytes) is held in memory.
// Bare LF line ends are treated as CRLF, as they are on the wire.
package msgauth
