// Package sqlite is the SQLite driver of package sqldb, over
// modernc.org/sqlite (pure Go, no cgo): a database-backed user list
// without a database server.
package sqlite

import (
	"database/sql"
	"errors"
	"net/url"

	_ "modernc.org/sqlite" // registers "sqlite" with database/sql

	"github.com/yubinmail/yubin/auth/sqldb"
)

// Driver is the sqldb driver for Dovecot's "driver = sqlite".
var Driver sqldb.Driver = sqliteDriver{}

type sqliteDriver struct{}

// Placeholder implements sqldb.Driver.
func (sqliteDriver) Placeholder(int) string { return "?" }

// Open implements sqldb.Driver: connect is the database file's path.
// The file is opened read-only (authentication only reads) and waits
// up to 5 seconds for a writer's lock.
func (sqliteDriver) Open(connect string) (*sql.DB, error) {
	if connect == "" {
		return nil, errors.New("connect: empty sqlite file name")
	}
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(connect),
		RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}
	return sql.Open("sqlite", u.String())
}
