// Package table implements Postfix lookup tables (postmap(1),
// cidr_table(5), regexp_table(5), pcre_table(5), aliases(5)) as in-memory
// Go values read from their source text.
//
// Supported references for [Open]: hash:, btree:, texthash: (and the
// other indexed types: dbm:, lmdb:, cdb:, sdbm:) are read from the source
// file the .db would be built from; cidr:, regexp:, pcre:, static:,
// inline:, unix:passwd.byname, proxy:type:name and fail:. mysql: and
// pgsql: read a mysql_table(5) or pgsql_table(5) file (hosts, user,
// password, dbname, query with %s %u %d %S %U %D %1-%9, domain,
// result_format, expansion_limit; the old select_field/table/
// where_field/additional_conditions form; mysql's tls_* settings) and
// query MariaDB/MySQL or PostgreSQL, with every expansion sent as a bound
// parameter, never in the SQL text; a database error or time-out is a
// lookup error, never "not found". Other types (socketmap:, tcp:, ...)
// return [ErrUnsupported]: plug an implementation of [Table] in through
// the restrict package.
//
// # Postfix behaviours kept
//
//   - Source syntax as postmap reads it: "key whitespace value", lines
//     starting with white space continue the previous logical line (joined
//     without the newline), '#' comment lines, trailing white space
//     removed, first of duplicate keys wins, keys folded to lower case.
//   - cidr: first match wins, "if"/"endif" blocks, "!" negation, IPv4 and
//     IPv6 never match each other (::ffff:a.b.c.d is IPv6), host bits set
//     in a network address are an error.
//   - regexp/pcre: any delimiter, flags (regexp: i m x; pcre: i m s x A E
//     U X), case-insensitive by default, "!" negation, "if"/"endif",
//     $n ${n} $(n) $$ in results.
//
// These are checked against the real postmap(1) by the TestPostmap*
// tests.
//
// # Differences
//
//   - A malformed line is an error (with file:line) and the table does not
//     load; postmap warns and skips the line. On reload, a file that no
//     longer parses leaves the previous contents in place.
//   - regexp: and pcre: patterns are compiled with Go's RE2 engine:
//     back-references, look-around, possessive quantifiers, recursion and
//     basic (non-extended) POSIX REs are refused at load time. regexp:
//     tables use leftmost-longest matching like POSIX; pcre: "$" without
//     the m flag matches only at the very end (PCRE also matches before a
//     final newline).
//   - aliases(5) "|command" and "/file" targets are refused unless
//     [AliasOptions] enable them (Postfix allows them in aliases by
//     default).
//
// # Implementation notes
//
// A file table is parsed into an immutable value held behind an atomic
// pointer. Lookups check, at most every ReloadInterval, whether the file's
// size or modification time changed, and one goroutine re-parses it while
// the others keep using the old contents. Tables are safe for concurrent
// use.
package table
