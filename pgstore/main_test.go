package pgstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/pgstore"
)

// cluster is the package's one private PostgreSQL; each test gets its
// own database in it.
var cluster testutil.PGClusterOnce

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// newDB returns the connect string of a fresh database.
func newDB(t testing.TB) string {
	t.Helper()
	c := cluster.Get(t)
	return c.ConnString(c.NewDatabase(t))
}

// openBackend opens a Backend on conn, closed at the end of the test.
func openBackend(t testing.TB, conn string, opts pgstore.Options) *pgstore.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := pgstore.Open(ctx, conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
