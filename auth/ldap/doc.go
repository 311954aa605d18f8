// Package ldap is a Dovecot-compatible LDAP passdb and userdb: it reads
// Dovecot's dovecot-ldap.conf.ext (uris, tls, tls_ca_cert_file,
// tls_require_cert, dn/dnpass, auth_bind, auth_bind_userdn, base, scope,
// pass_filter, pass_attrs, user_filter, user_attrs, iterate_filter,
// iterate_attrs, default_pass_scheme) and authenticates the same users
// against the same directory. github.com/go-ldap/ldap/v3 compiles the
// filters; the few operations a login needs (search, simple bind, SASL
// EXTERNAL bind, StartTLS) are spoken here, synchronously.
//
// Passwords are checked in one of Dovecot's three ways:
//   - auth binds to a DN template (auth_bind = yes, auth_bind_userdn):
//     one bind, no search;
//   - auth binds after a DN search as the service account (auth_bind =
//     yes, dn, dnpass, pass_filter);
//   - password lookups (auth_bind = no): userPassword is read by the
//     service account and verified with the auth package's schemes
//     ({CRYPT}, {SSHA}, {SHA512-CRYPT}...), which also makes
//     CRAM-MD5/SCRAM possible where the stored scheme allows.
//
// Every value put into a filter is escaped as RFC 4515 says (so "*" or
// "*)(uid=*" in a user name is a literal), every value put into a DN as
// RFC 4514 says; user names with NUL or control characters, spaces
// around, invalid UTF-8 or more than 512 bytes are refused before the
// directory is asked, and an empty password never reaches a bind (it
// would be an unauthenticated bind, which succeeds). A search that finds
// more than one entry is an error, as in Dovecot.
//
// # Implementation notes
//
// Two bounded pools of connections (DB.MaxConns each): one bound as the
// service account for searches, one for auth binds, so a user's bind
// never changes the identity searches run as. An operation writes its
// request and reads its answer on the caller's goroutine, with no reader
// goroutine or channel in between, as Dovecot uses libldap. pass_filter
// and user_filter are compiled once: where the variables stand in
// assertion values, their values go straight into the filter's BER
// encoding (what compiling the escaped text would give; a template that
// puts a variable elsewhere is expanded and compiled at each search).
// A connection that saw a network error, a timeout or a cancelled
// context is closed, never reused; an idle one the server closed
// meanwhile is replaced once, at its next use. Dialling (with StartTLS and the service bind), each operation
// and the wait for a free connection are each bounded by DB.Timeout, and
// a cancelled context closes the connection in use: a directory that is
// down or stops answering gives auth.ErrTempFail ("[UNAVAILABLE]",
// "454 4.7.0"), never auth.ErrAuthFailed and never a hang. Put an
// auth.Cache in front for Dovecot's auth_cache.
//
// SASL binds (sasl_bind = yes) are supported with sasl_mech = EXTERNAL:
// the service connections bind with the identity the server takes from
// the connection, the process's uid/gid over ldapi:// or a TLS client
// certificate (tls_cert_file, tls_key_file); other mechanisms,
// sasl_realm and sasl_authz_id are refused.
//
// Not implemented: other SASL mechanisms, %{ldap_multi} (Dovecot 2.3.21;
// 2.3.19 has none), passdb/userdb prefetch across the two, Dovecot's
// "blocking" workers.
package ldap
