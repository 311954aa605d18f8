package table

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of the SQL tables.
const (
	// DefaultSQLTimeout bounds one lookup in a mysql: or pgsql: table,
	// including the wait for a connection.
	DefaultSQLTimeout = 5 * time.Second
	// DefaultSQLMaxConns bounds the connections of one table.
	DefaultSQLMaxConns = 4
)

// ErrSQLExpansionLimit is returned when a lookup gives more results
// than the table's expansion_limit.
var ErrSQLExpansionLimit = errors.New("expansion_limit exceeded")

// sqlTable is a mysql: or pgsql: table: one pool per host of "hosts",
// tried in order.
type sqlTable struct {
	ref      string
	dbs      []*sql.DB
	stmts    []atomic.Pointer[sql.Stmt]
	q        *sqlQuery
	domains  []string // lower case; nil: no restriction
	domTable Table    // domain = type:name
	format   string   // result_format
	limit    int      // expansion_limit, 0 for none
	timeout  time.Duration
}

// sqlSettings are the mysql_table(5)/pgsql_table(5) parameters common
// to both.
func newSQLTable(ref, path string, cf map[string]string, bind func(int) string, opts Options) (*sqlTable, error) {
	t := &sqlTable{ref: ref, format: "%s", timeout: DefaultSQLTimeout}
	query := cf["query"]
	if query == "" {
		// The old form: select_field, table, where_field,
		// additional_conditions.
		if cf["select_field"] == "" || cf["table"] == "" || cf["where_field"] == "" {
			return nil, &Error{File: path, Msg: "missing query (or select_field, table and where_field)"}
		}
		query = fmt.Sprintf("SELECT %s FROM %s WHERE %s = '%%s' %s", cf["select_field"], cf["table"], cf["where_field"], cf["additional_conditions"])
	}
	q, err := compileSQL(query, bind)
	if err != nil {
		return nil, &Error{File: path, Msg: "query: " + err.Error()}
	}
	t.q = q
	if f, ok := cf["result_format"]; ok {
		if err := checkPercent(f); err != nil {
			return nil, &Error{File: path, Msg: "result_format: " + err.Error()}
		}
		t.format = f
	}
	if s := cf["expansion_limit"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, &Error{File: path, Msg: fmt.Sprintf("bad expansion_limit %q", s)}
		}
		t.limit = n
	}
	if d := cf["domain"]; d != "" {
		for _, f := range strings.FieldsFunc(d, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if strings.Contains(f, ":") {
				if t.domTable != nil {
					return nil, &Error{File: path, Msg: "domain: one table at most"}
				}
				if t.domTable, err = Open(f, &opts); err != nil {
					return nil, err
				}
				continue
			}
			t.domains = append(t.domains, strings.ToLower(f))
		}
	}
	return t, nil
}

// SQLDialect is what a database's package gives OpenSQL: its default
// port, its placeholder syntax and how to connect to one of the hosts.
type SQLDialect struct {
	// DefaultPort is the port of a host given without one ("3306").
	DefaultPort string
	// Placeholder is the n-th (from 1) bound parameter: "?" or "$n".
	Placeholder func(n int) string
	// Connect opens a pool to one host with the table file's settings
	// (user, password, dbname, tls_*); path names the file in errors.
	Connect func(h SQLHost, cf map[string]string, path string) (*sql.DB, error)
}

// OpenSQL opens a Postfix sql table from its configuration file path
// (mysql_table(5), pgsql_table(5): hosts tried in order, query or
// select_field/table/where_field/additional_conditions, domain,
// result_format, expansion_limit), with every key a bound parameter.
// ref is the table's reference, for errors. The mysqltable and
// pgsqltable packages call it with their dialects.
func OpenSQL(ref, path string, o *Options, d SQLDialect) (Table, error) {
	cf, err := ReadConfigFile(path)
	if err != nil {
		return nil, &Error{File: ref, Msg: err.Error()}
	}
	t, err := newSQLTable(ref, path, cf, d.Placeholder, o.withDefaults())
	if err != nil {
		return nil, err
	}
	var dbs []*sql.DB
	for _, h := range ParseSQLHosts(cf["hosts"], d.DefaultPort) {
		db, err := d.Connect(h, cf, path)
		if err != nil {
			for _, db := range dbs {
				db.Close()
			}
			return nil, err
		}
		dbs = append(dbs, db)
	}
	t.finish(dbs)
	return t, nil
}

// finish sets up the pools.
func (t *sqlTable) finish(dbs []*sql.DB) {
	t.dbs = dbs
	t.stmts = make([]atomic.Pointer[sql.Stmt], len(dbs))
	for _, db := range dbs {
		db.SetMaxOpenConns(DefaultSQLMaxConns)
		db.SetMaxIdleConns(DefaultSQLMaxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
}

// inDomain applies the "domain" restriction.
func (t *sqlTable) inDomain(ctx context.Context, k keyParts) (bool, error) {
	if t.domains == nil && t.domTable == nil {
		return true, nil
	}
	if !k.addr || k.domain == "" {
		return false, nil
	}
	d := strings.ToLower(k.domain)
	for _, x := range t.domains {
		if x == d {
			return true, nil
		}
	}
	if t.domTable != nil {
		_, ok, err := t.domTable.Lookup(ctx, d)
		return ok, err
	}
	return false, nil
}

// Lookup implements Table. The key is folded to lower case, as Postfix
// folds keys of these tables. A database error is returned as err (the
// caller's temporary failure).
func (t *sqlTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	key = strings.ToLower(key)
	k := splitKeyParts(key)
	if ok, err := t.inDomain(ctx, k); !ok || err != nil {
		return "", false, err
	}
	args := make([]any, len(t.q.args))
	for i, tmpl := range t.q.args {
		v, ok := expandPercent(tmpl, k, k)
		if !ok {
			return "", false, nil // query suppressed
		}
		args[i] = v
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var err error
	for i := range t.dbs {
		var res []string
		res, err = t.query(ctx, i, args)
		if err == nil {
			return t.result(res, k)
		}
		if errors.Is(err, ErrSQLExpansionLimit) || ctx.Err() != nil {
			break
		}
	}
	return "", false, fmt.Errorf("%s: lookup failed: %w", t.ref, err)
}

// query runs the query on host i and returns every non-NULL,
// non-empty column of every row.
func (t *sqlTable) query(ctx context.Context, i int, args []any) ([]string, error) {
	st := t.stmts[i].Load()
	if st == nil {
		p, err := t.dbs[i].PrepareContext(ctx, t.q.text)
		if err != nil {
			return nil, err
		}
		if t.stmts[i].CompareAndSwap(nil, p) {
			st = p
		} else {
			p.Close()
			st = t.stmts[i].Load()
		}
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for j := range vals {
		ptrs[j] = &vals[j]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for _, v := range vals {
			if v.Valid && v.String != "" {
				out = append(out, v.String)
				if t.limit > 0 && len(out) > t.limit {
					return nil, ErrSQLExpansionLimit
				}
			}
		}
	}
	return out, rows.Err()
}

// result formats the values with result_format and joins them with
// commas.
func (t *sqlTable) result(vals []string, k keyParts) (string, bool, error) {
	var out []string
	for _, v := range vals {
		if s, ok := expandPercent(t.format, splitKeyParts(v), k); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "", false, nil
	}
	return strings.Join(out, ","), true, nil
}

// Close closes the table's connections.
func (t *sqlTable) Close() error {
	for _, db := range t.dbs {
		db.Close()
	}
	return nil
}

// SQLHost is one element of an sql table's "hosts": a unix socket path,
// a TCP host and port, or (pgsql) a postgresql:// URI.
type SQLHost struct {
	Unix       string
	Host, Port string
	URI        string
}

// ParseSQLHosts reads Postfix's hosts list: "unix:/path",
// "inet:host:port", "host:port", "host", and for pgsql "postgresql://..."
// URIs; an empty list is localhost on defPort.
func ParseSQLHosts(list, defPort string) []SQLHost {
	var out []SQLHost
	for _, h := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch {
		case strings.HasPrefix(h, "postgresql://") || strings.HasPrefix(h, "postgres://"):
			out = append(out, SQLHost{URI: h})
		case strings.HasPrefix(h, "unix:"):
			out = append(out, SQLHost{Unix: h[len("unix:"):]})
		default:
			h = strings.TrimPrefix(h, "inet:")
			host, port := h, defPort
			if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i+1:], "]") {
				host, port = h[:i], h[i+1:]
			}
			out = append(out, SQLHost{Host: strings.Trim(host, "[]"), Port: port})
		}
	}
	if len(out) == 0 {
		out = append(out, SQLHost{Host: "localhost", Port: defPort})
	}
	return out
}
