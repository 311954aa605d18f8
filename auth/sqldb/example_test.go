package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/sqldb"
	"github.com/yubinmail/yubin/auth/sqldb/sqlite"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sqldb-example")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "users.db")

	// A users table, as an administrator would fill it.
	w, _ := sql.Open("sqlite", file)
	hash, _ := auth.Hash("SHA512-CRYPT", "secret")
	w.Exec(`CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT, home TEXT)`)
	w.Exec(`INSERT INTO users VALUES (?, ?, ?)`, "alice@example.com", hash, "/var/mail/alice")
	w.Close()

	cfg, err := sqldb.ParseConfig(strings.NewReader(`
driver = sqlite
connect = `+file+`
default_pass_scheme = SHA512-CRYPT
password_query = SELECT username AS user, password FROM users WHERE username = '%u'
user_query = SELECT home FROM users WHERE username = '%u'
`), "dovecot-sql.conf.ext")
	if err != nil {
		fmt.Println(err)
		return
	}
	db, err := sqldb.Open(cfg, sqlite.Driver, &sqldb.Options{
		OverrideFields: map[string]string{"uid": "5000", "gid": "5000"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	passdb := &auth.Cache{PassDB: db}

	ctx := context.Background()
	id, err := passdb.Authenticate(ctx, "alice@example.com", "secret")
	fmt.Println(id.User, err)
	_, err = passdb.Authenticate(ctx, "alice@example.com' OR '1'='1", "secret")
	fmt.Println(err)
	u, _ := db.LookupUser(ctx, "alice@example.com")
	fmt.Println(u.Home, u.UID)
	// Output:
	// alice@example.com <nil>
	// auth: unknown user
	// /var/mail/alice 5000
}
