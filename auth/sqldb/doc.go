// Package sqldb is Dovecot's SQL passdb and userdb ("driver = sql",
// args = dovecot-sql.conf.ext) over database/sql.
//
// [LoadConfig] reads dovecot-sql.conf.ext: driver (mysql, pgsql or
// sqlite), connect, default_pass_scheme, password_query, user_query and
// iterate_query. [Open] returns a [DB], which is an auth.PassDB,
// auth.CredentialLookup, auth.PassLookup, auth.UserDB and
// auth.UserLister. Result columns are named as Dovecot expects them:
// "password" (checked with default_pass_scheme when it has no
// "{SCHEME}"), "user" (renames the user), "nopassword", "allow_nets",
// "userdb_*" (the prefetched userdb), any others are extra fields;
// user_query's columns are the userdb fields (home, uid, gid, mail,
// quota_rule); iterate_query's "user" (or "username" and "domain")
// column lists the users.
//
// The database drivers live in subpackages, so that importing package
// auth, or this package, links none: [mysql.Driver] (MariaDB and MySQL,
// github.com/go-sql-driver/mysql, with Dovecot's host/port/dbname/user/
// password/ssl_ca connect settings and TLS verified against ssl_ca),
// [pgsql.Driver] (PostgreSQL, github.com/jackc/pgx/v5, libpq connect
// strings with sslmode/sslrootcert) and [sqlite.Driver] (modernc.org/
// sqlite, pure Go: a database file without a server). All three are
// pure Go.
//
// # Security
//
// Dovecot expands %u, %n, %d and the other variables into the query
// text, escaping them. Here no value is ever written into the SQL: each
// variable becomes a bound parameter ("?" or "$n"), and a quoted
// string holding variables ('%n@%d') becomes one parameter with the
// expanded text, so user names with quotes, backslashes, "%" or NUL
// bytes cannot change a query (NUL is refused before any query).
//
// # Implementation notes
//
// Each query is prepared once on first use, without a lock held, so
// that with the server down every caller waits for its own deadline
// only. The pool holds at most Options.MaxConns connections; each query,
// including the wait for a pooled connection and the connection set-up,
// is bounded by Options.Timeout. Every database error — server down, not
// answering, refusing our login, TLS failure, a query returning more than
// one row — is auth.ErrTempFail (the servers answer [UNAVAILABLE] or
// 454 4.7.0), never a wrong password; the database's message goes to the
// Logger only. Put an auth.Cache in front, as Dovecot's auth_cache.
//
// [mysql.Driver]: https://pkg.go.dev/github.com/yubinmail/yubin/auth/sqldb/mysql
// [pgsql.Driver]: https://pkg.go.dev/github.com/yubinmail/yubin/auth/sqldb/pgsql
// [sqlite.Driver]: https://pkg.go.dev/github.com/yubinmail/yubin/auth/sqldb/sqlite
package sqldb
