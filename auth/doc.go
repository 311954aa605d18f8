// Package auth authenticates mail users the way Dovecot does: password
// schemes, passdb and userdb backends, SASL server mechanisms and the
// policy shared by the SMTP, IMAP and POP3 servers.
//
// # Password schemes
//
// [Verify] and [Hash] handle Dovecot's stored form "{SCHEME}data", with
// ".HEX" and ".B64" encoding suffixes and a default scheme for bare
// hashes: SHA512-CRYPT and SHA256-CRYPT (SHA-crypt, implemented here from
// Ulrich Drepper's specification), MD5-CRYPT, BLF-CRYPT and CRYPT
// (bcrypt), ARGON2I and ARGON2ID, PBKDF2, SCRAM-SHA-1 and SCRAM-SHA-256,
// SSHA512, SSHA256, SSHA, SMD5, SHA512, SHA256, SHA1, PLAIN-MD5,
// LDAP-MD5, PLAIN-MD4, CRAM-MD5 (HMAC-MD5 context), DIGEST-MD5, PLAIN,
// CLEAR, CLEARTEXT, PLAIN-TRUNC and OTP (RFC 2289 state). Comparisons
// are constant-time. DES-CRYPT is not implemented (Debian's libxcrypt,
// and so Dovecot there, cannot verify it either).
//
// # Databases
//
// [PasswdFile] reads Dovecot's passwd-file (user:password:uid:gid:gecos:
// home:shell:extra_fields, "userdb_" fields, nopassword, allow_nets),
// reports malformed lines as file:line while serving the rest,
// re-reads the file when it changes, and takes variables in its path
// for one file per domain ("/etc/dovecot/%d.passwd", values cut at "/"
// as Dovecot does, "." and ".." refused). [StaticUserDB] and [SystemUserDB]
// are Dovecot's "userdb static" and "userdb passwd". [Cache] puts a TTL
// cache in front of any PassDB. [PassDBChain] and [UserDBChain] ask
// several in order, as Dovecot's several passdb and userdb blocks.
// Subpackage sqldb is Dovecot's SQL passdb and userdb
// (dovecot-sql.conf.ext) over MariaDB/MySQL, PostgreSQL or SQLite.
//
// PAM (Dovecot's "passdb pam") is a PassDB built only with the "pam"
// build tag and cgo, linking libpam (libpam0g-dev on Debian):
// "go build -tags pam". Its type, PAM, runs pam_start with a service
// name ("dovecot" by default, "*" for the connection's protocol), a
// conversation that answers the password prompt, pam_authenticate and
// pam_acct_mgmt (null passwords refused), optionally pam_setcred and a
// session, then pam_end, on a goroutine of its own with a bound on
// concurrent conversations (one by default: not every module is
// thread-safe). PAM_USER_UNKNOWN is ErrUnknownUser, other failures
// ErrAuthFailed; a module's own failure delay is replaced by Service's.
//
// [Expand] implements Dovecot's variables (%u %n %d %h %{user},
// modifiers %L %U %R %M %H %D %X %E %T, widths).
//
// # SASL and policy
//
// [Service] implements [Authenticator] for the protocol servers with
// Dovecot's policy: plaintext mechanisms only on TLS, loopback or
// login_trusted_networks connections unless AllowPlaintext
// (disable_plaintext_auth); a failure delay (auth_failure_delay) that
// only the failing session waits; a per-IP penalty that doubles with
// each failure; auth_username_format and auth_username_chars; unknown
// users and wrong passwords indistinguishable, in answer and in time.
// Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), SCRAM-SHA-1
// and SCRAM-SHA-256 (RFC 5802, RFC 7677) with -PLUS channel binding
// (tls-exporter, RFC 9266; tls-unique, RFC 5929), OAUTHBEARER (RFC 7628)
// and XOAUTH2 with a pluggable [TokenVerifier], EXTERNAL (RFC 4422) from
// a verified client certificate, ANONYMOUS (RFC 4505, off by default).
//
// Subpackage dovecotauth speaks Dovecot's auth-client and auth-master
// protocols, as server (for Postfix's smtpd_sasl_type = dovecot) and as
// client (to use a running Dovecot).
//
// # Implementation notes
//
// A SASL session's Next takes nil for "no initial response" and an empty
// non-nil slice for an empty one. SCRAM's server-final message is sent
// as a last challenge; the exchange ends after the client's empty
// response, which suits IMAP, POP3 and SMTP alike. For an unknown user,
// SCRAM answers with a salt derived from the user name and a per-Service
// secret and fails only at the end. Failed attempts are padded to
// FailureDelay measured from the start of the attempt, so the time of a
// failure does not reveal whether the hash was computed. Penalties are
// kept per IPv4 address or IPv6 /64 in a bounded table.
// The ConnInfo of an attempt reaches PassDBs through the context
// ([WithConnInfo]), for allow_nets and %r-style variables.
//
// SHA512-CRYPT verifications that run at the same time are computed up
// to eight at once, in the 64-bit lanes of AVX-512 registers where the
// CPU has them (internal/sha512x8): a full batch costs about as much CPU
// as three hashes one after the other. A process-wide scheduler, which
// holds a queue and no settings, forms the batches: a hash that finds
// none running starts at once on the ordinary path; hashes arriving
// meanwhile become the next batch; on a busy server a lone hash waits
// up to a millisecond for company. Results are the same either way.
package auth
