// Package pgsqltable registers Postfix's pgsql: lookup table
// (pgsql_table(5)) with package table, on PostgreSQL through
// github.com/jackc/pgx/v5. Import it for its effect:
//
//	import _ "github.com/yubinmail/yubin/restrict/table/pgsqltable"
//
// Then table.Open("pgsql:/etc/postfix/pgsql-aliases.cf", nil) reads the
// file's hosts (host, host:port, inet:host:port, unix:/socket/dir or
// postgresql:// URIs), user, password, dbname, query (or select_field,
// table, where_field, additional_conditions), domain, result_format and
// expansion_limit. TLS follows libpq's default (sslmode=prefer) or the
// URI's sslmode. Keys are bound parameters, never spliced into SQL.
package pgsqltable

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/yubinmail/yubin/restrict/table"
)

func init() { table.Register("pgsql", Open) }

// Open opens a pgsql: table from its configuration file.
func Open(path string, o *table.Options) (table.Table, error) {
	return table.OpenSQL("pgsql:"+path, path, o, table.SQLDialect{
		DefaultPort: "5432",
		Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
		Connect:     connect,
	})
}

// connect opens a pool to one host.
func connect(h table.SQLHost, cf map[string]string, path string) (*sql.DB, error) {
	connect := h.URI
	if connect == "" {
		host, port := h.Host, h.Port
		if h.Unix != "" {
			host = h.Unix
			if i := strings.Index(host, "/.s.PGSQL."); i >= 0 {
				host, port = host[:i], host[i+len("/.s.PGSQL."):]
			}
		}
		if port == "" {
			port = "5432"
		}
		connect = fmt.Sprintf("host=%s port=%s dbname=%s user=%s password=%s connect_timeout=5",
			pgQuote(host), pgQuote(port), pgQuote(cf["dbname"]), pgQuote(cf["user"]), pgQuote(cf["password"]))
	}
	c, err := pgx.ParseConfig(connect)
	if err != nil {
		return nil, &table.Error{File: path, Msg: "hosts: " + err.Error()}
	}
	return stdlib.OpenDB(*c), nil
}

// pgQuote quotes a libpq keyword value.
func pgQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
