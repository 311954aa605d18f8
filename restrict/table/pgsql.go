package table

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPgSQL opens a pgsql: table from its pgsql_table(5) file: hosts
// (host, host:port, inet:host:port, unix:/socket/dir or postgresql://
// URIs), user, password, dbname, query (or select_field, table,
// where_field, additional_conditions), domain, result_format,
// expansion_limit. TLS follows libpq's default (sslmode=prefer) or the
// URI's sslmode.
func openPgSQL(ref, path string, opts Options) (Table, error) {
	cf, err := readCF(path)
	if err != nil {
		return nil, &Error{File: ref, Msg: err.Error()}
	}
	t, err := newSQLTable(ref, path, cf, func(n int) string { return "$" + strconv.Itoa(n) }, opts)
	if err != nil {
		return nil, err
	}
	var dbs []*sql.DB
	for _, h := range parseSQLHosts(cf["hosts"], "5432") {
		var connect string
		if h.uri != "" {
			connect = h.uri
		} else {
			host := h.host
			if h.unix != "" {
				host = h.unix
				if i := strings.Index(host, "/.s.PGSQL."); i >= 0 {
					host, h.port = host[:i], host[i+len("/.s.PGSQL."):]
				}
			}
			connect = fmt.Sprintf("host=%s port=%s dbname=%s user=%s password=%s connect_timeout=5",
				pgQuote(host), pgQuote(orStr(h.port, "5432")), pgQuote(cf["dbname"]), pgQuote(cf["user"]), pgQuote(cf["password"]))
		}
		c, err := pgx.ParseConfig(connect)
		if err != nil {
			return nil, &Error{File: path, Msg: "hosts: " + err.Error()}
		}
		dbs = append(dbs, stdlib.OpenDB(*c))
	}
	t.finish(dbs)
	return t, nil
}

// pgQuote quotes a libpq keyword value.
func pgQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
