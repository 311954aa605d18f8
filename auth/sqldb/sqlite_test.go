package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/sqldb"
	"github.com/yubinmail/yubin/auth/sqldb/sqlite"
)

// sqliteBackend makes a fresh database file for the suite.
func sqliteBackend(t testing.TB) *backend {
	path := filepath.Join(t.TempDir(), "users db?#.sqlite")
	w, err := sql.Open("sqlite", "file:"+(&urlPath{path}).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return &backend{name: "sqlite", driver: "sqlite", drv: sqlite.Driver, connect: path,
		exec: func(t testing.TB, q string) {
			t.Helper()
			if _, err := w.Exec(q); err != nil {
				t.Fatalf("sqlite: %v\n%s", err, q)
			}
		}}
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	runSuite(t, sqliteBackend(t))
}

func TestSQLiteMissingFile(t *testing.T) {
	t.Parallel()
	b := &backend{driver: "sqlite", drv: sqlite.Driver, connect: filepath.Join(t.TempDir(), "missing.db")}
	db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: time.Second})
	if _, err := db.Authenticate(context.Background(), "alice@example.com", "x"); !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("missing database file: %v, want ErrTempFail", err)
	}
}
