// Package pgsql is the PostgreSQL driver of package sqldb, over
// github.com/jackc/pgx/v5 (pure Go) through its database/sql adapter.
package pgsql

import (
	"database/sql"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/yubinmail/yubin/auth/sqldb"
)

// Driver is the sqldb driver for Dovecot's "driver = pgsql".
var Driver sqldb.Driver = pgDriver{}

type pgDriver struct{}

// Placeholder implements sqldb.Driver: $1, $2, ...
func (pgDriver) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

// Open implements sqldb.Driver. The connect string is libpq's
// keyword/value form, as Dovecot passes it to libpq: host (a unix
// socket directory when it starts with "/"), port, dbname, user,
// password, sslmode, sslrootcert (the CA), sslcert, sslkey,
// connect_timeout.
func (pgDriver) Open(connect string) (*sql.DB, error) {
	c, err := pgx.ParseConfig(connect)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*c), nil
}
