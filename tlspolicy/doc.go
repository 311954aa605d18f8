// Package tlspolicy decides how an SMTP client protects the mail it
// sends to a next-hop domain, and reports how that went:
//
//   - DANE for SMTP (RFC 7672) with TLSA records (RFC 6698, RFC 7671):
//     when the domain's MX records and the MX host's TLSA records are
//     DNSSEC-validated, TLS is mandatory and the server's certificate
//     must match a DANE-EE(3) record, or chain to a DANE-TA(2) record's
//     certificate and name the MX host or the domain. PKIX-TA(0) and
//     PKIX-EE(1) records are unusable for SMTP; validated records that
//     are all unusable mean mandatory TLS without authentication, as
//     Postfix does. Postfix's smtp_tls_security_level "dane" (DANE where
//     published, opportunistic elsewhere) and "dane-only" (no mail
//     without DANE) are the two levels (Level).
//   - MTA-STS (RFC 8461): the "_mta-sts" TXT record, the policy fetched
//     over HTTPS from mta-sts.DOMAIN with a WebPKI-valid certificate, no
//     redirects, and size and time limits; cached for max_age and
//     fetched again when the record's id changes; "enforce" defers mail
//     to MX hosts the policy does not list or whose certificate is not
//     valid for them; "testing" only reports. Postfix needs the separate
//     postfix-mta-sts-resolver for this; yubin has it built in (the
//     fullserver's smtp_mta_sts setting).
//   - SMTP TLS Reporting (RFC 8460): Recorder counts each session's
//     outcome per policy with the RFC's result types; BuildReport makes
//     the JSON report and Reporter mails it, gzipped, to the rua=mailto:
//     addresses of the domain's "_smtp._tls" TXT record, and posts it
//     to its https: addresses.
//
// DANE needs a validating resolver: Resolver asks one recursive server
// with the DO bit and trusts its AD bit, as Postfix's
// smtp_dns_support_level = dnssec does. That server must be a local
// validating resolver (unbound on 127.0.0.1) or reached over a trusted
// path; anything else makes DANE worthless.
//
// DANE takes precedence over MTA-STS (RFC 8461 2): a host with validated
// TLSA records is judged by them; MTA-STS applies to hosts without.
// DANE applies to a host only when its A and AAAA answers are validated
// too; when they come through a CNAME chain, the TLSA records at the
// expanded name are tried first, then those at the host name (RFC 7672
// 2.2.2), and the expanded name is a reference identifier for DANE-TA.
// A nexthop given as a host ([host], a relayhost: ForRelay) gets DANE
// from the host's own records and no MTA-STS, as in Postfix.
//
// A DANE-TA(2) key published whole with selector 1 (2 1 0) need not be
// in the server's chain (RFC 7671 5.2.2).
//
// STS.Save and STS.Load keep the policy cache across restarts, and
// Recorder.Save and Recorder.Load the counts of the reporting period.
// The report mails are DKIM-signed by the caller's Reporter.Send (RFC
// 8460 3; the fullserver signs them as the queue's own notices).
//
// Implementation notes: Policy, STS, Recorder and Reporter are safe for
// concurrent use. STS holds its cache under a mutex and fetches outside
// it; two deliveries to one domain at the same time may both fetch.
// Every parser of outside input (ParseSTSRecord, ParseSTSPolicy,
// ParseRPTRecord, ParseTLSA, ParseTLSAText) has limits and a fuzz
// target.
package tlspolicy
